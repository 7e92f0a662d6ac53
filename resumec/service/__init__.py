"""The converter service: one warm LibreOffice shared by every `resumec compile` of one user.

A one-shot conversion starts LibreOffice each time (~1 s); the service keeps a
WarmConverter running (~0.1 s a document) behind a UNIX socket in a private
runtime directory (0700, socket 0600, peer uid checked). It converts DOCX
bytes it is sent into PDF bytes, and for a compile that missed the cache it
also builds the DOCX (its python-docx and Jinja2 are imported, its templates
compiled): then it reads the theme folder and photo that compile names, as the
same user the peer check proved the client to be.

    protocol.py   the wire format and its messages, shared by server and client
    daemon.py     the runtime directory, and starting, stopping and asking a running service
    server.py     the service itself: the accept loop and one thread per connection

The client side is an ordinary converter engine: resumec/convert/client.py.
"""
