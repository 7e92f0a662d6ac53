// The live preview page of `resumec watch --serve`.
//
// One tab per browser holds the event stream (the "leader", picked with the Web Locks API) and relays what
// it receives to the other tabs of the same preview over a BroadcastChannel: any number of tabs costs the
// server one stream and never uses up the browser's six connections per host, which would stall images.
//
// Reconnects: the browser's EventSource retries after the server's `retry:` and sends Last-Event-ID, so a
// restarted or briefly unreachable server resumes where the tab left off. A stream that stays silent past
// 2.5 heartbeats (the laptop slept, a proxy dropped it, the server froze) is closed and reopened. A server
// that stays unreachable for `giveUp` seconds, or that refuses this page (wrong token, another program on
// the port), ends the retrying: the page says so and offers a Reconnect button. Never a retry loop.
(() => {
  "use strict";

  const cfg = JSON.parse(document.getElementById("config").textContent);
  const $ = (id) => document.getElementById(id);
  const HEARTBEAT_MS = cfg.heartbeat * 1000;
  const DEAD_MS = Math.max(2.5 * HEARTBEAT_MS, HEARTBEAT_MS + 500);
  const GIVE_UP_MS = cfg.giveUp * 1000;
  const TICK_MS = Math.max(50, Math.min(1000, HEARTBEAT_MS / 4));
  const TEXT = {
    reconnecting: "Lost the connection to resumec watch; reconnecting…",
    stopped: `The preview server stopped answering ${Math.round(cfg.giveUp)} s ago, so this page stopped trying. ` +
      "Start resumec watch --serve again, then press Reconnect.",
    refused: "The server at this address no longer serves this page (a new session has a new address). " +
      "Open the URL resumec watch --serve printed.",
  };

  // A handle for tests and for debugging from the console.
  const S = (window.resumecLive = {
    role: "", state: "connecting", opens: 0, errors: 0, attempts: 0, builds: 0, pings: 0,
    log: [], shown: "", shownAt: 0, lastId: "",
  });

  const lockName = "resumec-live:" + location.pathname;
  const channel = "BroadcastChannel" in window ? new BroadcastChannel(lockName) : null;
  const latest = { build: null, progress: null, text: "" };
  let conn = "connecting";
  let building = false;
  let pending = "";

  // -- drawing -------------------------------------------------------------------------

  const stageEls = cfg.stages.map((stage) => {
    const li = document.createElement("li");
    li.className = "stage";
    li.dataset.stage = stage.key;
    const track = document.createElement("div");
    track.className = "track";
    const fill = document.createElement("div");
    fill.className = "fill";
    track.append(fill);
    const label = document.createElement("span");
    label.textContent = stage.label;
    const count = document.createElement("span");
    count.className = "count";
    li.append(track, label, count);
    $("stages").append(li);
    return { li, fill, count };
  });

  function span(text, cls) {
    const el = document.createElement("span");
    el.textContent = text;
    if (cls) el.className = cls;
    return el;
  }

  function seconds(s) {
    return s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`;
  }

  function paintStatus() {
    const shown = conn === "live" && building ? "building" : conn;
    document.body.dataset.state = shown;
    $("status").textContent = shown;
    $("notice").hidden = !latest.text;
    $("notice-text").textContent = latest.text;
    $("reconnect").hidden = !(conn === "stopped" || conn === "refused");
  }

  function applyProgress(p) {
    latest.progress = p;
    building = !!p;
    $("progress").hidden = !p;
    paintStatus();
    if (!p) return;
    S.log.push([p.stage, p.done, p.total]);
    const n = cfg.stages.length;
    cfg.stages.forEach((stage, i) => {
      const el = stageEls[i];
      const part = Math.min(1, Math.max(0, p.fraction * n - i));
      el.fill.style.width = `${(part * 100).toFixed(1)}%`;
      el.li.classList.toggle("done", part >= 1);
      el.li.classList.toggle("current", stage.key === p.stage);
      el.count.textContent = stage.key === p.stage && p.total > 1 ? ` ${p.done}/${p.total}` : "";
    });
    const known = cfg.stages.some((stage) => stage.key === p.stage);
    $("stats").textContent = known ? "building…" : `building… (${p.label})`;
  }

  function showPages(good) {
    pending = good.id;
    const total = good.pages.length;
    const images = good.pages.map((page, i) => {
      const img = new Image();
      if (page.width && page.height) {
        img.width = page.width;
        img.height = page.height;
      }
      img.alt = `Page ${i + 1} of ${total}`;
      img.src = page.url;
      return img;
    });
    // Swap only when every page is decoded: the old pages stay until the new ones can replace them at once.
    Promise.all(images.map((img) => img.decode().catch(() => null))).then(() => {
      if (pending !== good.id) return; // a newer build came meanwhile
      pending = "";
      const pages = $("pages");
      if (total) pages.replaceChildren(...images);
      else pages.replaceChildren(span("This build has no page images.", "empty"));
      pages.dataset.build = good.id;
      S.shown = good.id;
      S.shownAt = Date.now();
    });
  }

  function showDownloads(good) {
    for (const kind of ["pdf", "docx"]) {
      const a = $(kind);
      const link = good && good[kind];
      if (link) {
        a.href = link.url;
        a.setAttribute("download", link.name);
        a.title = `${link.name} (${Math.max(1, Math.round(link.bytes / 1024))} kB)`;
        a.hidden = false;
        a.classList.remove("stale");
      } else if (!good && a.getAttribute("href")) {
        a.classList.add("stale"); // a restarted server has not built yet: the old link would 404
      } else {
        a.hidden = true;
      }
    }
  }

  function showProblems(build) {
    const list = $("problem-list");
    list.replaceChildren();
    document.body.classList.toggle("has-problems", !build.ok);
    $("problems").hidden = build.ok;
    if (build.ok) return;
    const n = build.problems.length;
    const kept = S.shown || pending ? "; the last good pages are shown below" : "";
    $("problems-title").textContent = `${cfg.title}: ${n} problem${n === 1 ? "" : "s"}${kept}`;
    for (const p of build.problems) {
      const li = document.createElement("li");
      if (p.where) li.append(span(p.where, "where"), ": ");
      if (p.path) li.append(span(p.path, "path"), ": ");
      li.append(p.message);
      list.append(li);
    }
  }

  function showWarnings(warnings) {
    const list = $("warnings");
    list.replaceChildren(...warnings.map((w) => {
      const li = document.createElement("li");
      li.textContent = w;
      return li;
    }));
    list.hidden = !warnings.length;
  }

  function applyBuild(build) {
    latest.build = build;
    S.builds++;
    applyProgress(null);
    const when = new Date(build.time * 1000).toLocaleTimeString();
    const stats = $("stats");
    stats.replaceChildren();
    if (build.ok) {
      stats.append(`built in ${seconds(build.seconds)}`);
      if (build.cached === true) stats.append(" · ", span("cache hit", "hit"));
      if (build.cached === false) stats.append(" · ", span("cache miss", "miss"));
      stats.append(` · ${when}`);
    } else {
      stats.append(span("build failed", "failed"), ` after ${seconds(build.seconds)} · ${when}`);
    }
    document.title = `${build.ok ? "" : "✗ "}${cfg.title} · resumec live`;
    const good = build.good;
    if (good && good.id === S.shown) pending = "";
    else if (good && good.id !== pending) showPages(good);
    showDownloads(good);
    showProblems(build);
    showWarnings(build.warnings || []);
  }

  function applyState(state) {
    if (state.build) applyBuild(state.build);
    else showDownloads(null);
    applyProgress(state.progress);
  }

  function handle(type, data) {
    if (type === "state") applyState(data);
    else if (type === "build") applyBuild(data);
    else if (type === "progress") applyProgress(data);
  }

  function setConn(state, text) {
    conn = S.state = state;
    latest.text = text || "";
    paintStatus();
    if (S.role === "leader" && channel) channel.postMessage({ kind: "status", state, text: latest.text });
  }

  // -- the stream (leader only) ---------------------------------------------------------

  let source = null;
  let lostSince = 0;
  let lastSeen = 0;

  function connect() {
    if (source) source.close();
    S.attempts++;
    const query = S.lastId ? `?last_event_id=${encodeURIComponent(S.lastId)}` : "";
    const es = (source = new EventSource(`events${query}`));
    lastSeen = Date.now();
    es.onopen = () => {
      if (es !== source) return;
      S.opens++;
      lostSince = 0;
      lastSeen = Date.now();
      setConn("live", "");
    };
    es.onerror = () => {
      if (es !== source) return;
      if (es.readyState === EventSource.CLOSED) {
        // The server answered, but not with our stream (403, 404, another program): retrying cannot help.
        source = null;
        setConn("refused", TEXT.refused);
        return;
      }
      S.errors++; // the browser itself retries after `retry:`, sending Last-Event-ID
      lost();
    };
    for (const type of ["hello", "state", "build", "progress", "ping"]) {
      es.addEventListener(type, (ev) => {
        if (es !== source) return;
        lastSeen = Date.now();
        if (ev.lastEventId) S.lastId = ev.lastEventId;
        if (type === "ping") S.pings++;
        if (type === "hello" || type === "ping") return;
        const data = JSON.parse(ev.data);
        handle(type, data);
        if (channel) channel.postMessage({ kind: "event", type, data });
      });
    }
  }

  function lost() {
    if (!lostSince) lostSince = Date.now();
    if (conn !== "reconnecting") setConn("reconnecting", TEXT.reconnecting);
  }

  function reconnectNow() {
    lostSince = Date.now();
    setConn("reconnecting", TEXT.reconnecting);
    connect();
  }

  function watchdog() {
    if (!source) return;
    const now = Date.now();
    if (source.readyState === EventSource.OPEN) {
      if (now - lastSeen > DEAD_MS) {
        lost(); // silent for 2.5 heartbeats: the machine slept, a proxy cut it, or the server froze
        connect();
      }
    } else if (lostSince && now - lostSince > GIVE_UP_MS) {
      source.close();
      source = null;
      setConn("stopped", TEXT.stopped);
    }
  }

  function lead() {
    S.role = "leader";
    connect();
    setInterval(watchdog, TICK_MS);
  }

  // -- tabs -------------------------------------------------------------------------------

  $("reconnect").addEventListener("click", () => {
    if (S.role === "leader") reconnectNow();
    else if (channel) channel.postMessage({ kind: "retry" });
  });

  document.addEventListener("visibilitychange", () => {
    // Coming back to a tab that gave up: one attempt (the user may have restarted the session), not a loop.
    if (document.visibilityState === "visible" && conn === "stopped") $("reconnect").click();
  });

  window.addEventListener("pagehide", () => source && source.close());

  if (channel) {
    channel.onmessage = ({ data: msg }) => {
      if (S.role === "leader") {
        if (msg.kind === "hello") {
          channel.postMessage({ kind: "sync", ...latest, state: conn });
        } else if (msg.kind === "retry" && (conn === "stopped" || conn === "refused")) {
          reconnectNow();
        }
        return;
      }
      if (msg.kind === "event") handle(msg.type, msg.data);
      else if (msg.kind === "sync") {
        if (msg.build) applyBuild(msg.build);
        applyProgress(msg.progress);
        conn = S.state = msg.state;
        latest.text = msg.text;
        paintStatus();
      } else if (msg.kind === "status") {
        conn = S.state = msg.state;
        latest.text = msg.text;
        paintStatus();
      }
    };
  }

  if (channel && navigator.locks) {
    S.role = "follower";
    // Held until this tab closes; then the next waiting tab becomes the leader and opens the stream.
    navigator.locks.request(lockName, () => new Promise(() => lead()));
    channel.postMessage({ kind: "hello" });
  } else {
    lead();
  }
})();
