"""`--open`: show the preview in the user's browser, without ever taking over the terminal."""

from __future__ import annotations

import os
import threading


def open_browser(url: str) -> bool:
    """Open url in a new tab of a graphical browser (or $BROWSER) in the background; False if there is none.

    Python's webbrowser falls back to console browsers (w3m, lynx) on a
    machine without a display; one of those would fight watch mode for the
    terminal, so they count as "no browser" unless $BROWSER asks for one.
    """
    import webbrowser

    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    if isinstance(browser, webbrowser.GenericBrowser) and not isinstance(browser, webbrowser.BackgroundBrowser):
        if not os.environ.get("BROWSER"):
            return False
    # Some launchers wait for the browser to exit: never block the watch session on them.
    threading.Thread(target=browser.open_new_tab, args=(url,), name="resumec-open", daemon=True).start()
    return True
