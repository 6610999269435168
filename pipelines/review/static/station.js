// shenbao review station: keyboard, boxes and zoom. Plain JavaScript, no
// build step. Text from documents is only ever set with textContent.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("station-data").textContent || "{}");
  var view = document.body.getAttribute("data-view");
  var busy = false;

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-Review-Token": D.token},
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {error: r.statusText}; }).then(function (j) {
        if (!r.ok) { throw new Error(j.error || r.statusText); }
        return j;
      });
    });
  }

  function pct(v) { return (v * 100).toFixed(4) + "%"; }

  // a box (x0, top, x1, bottom in PDF points) on a sheet of the page's size
  function place(box, bbox, size) {
    if (!bbox || !size) { box.style.display = "none"; return; }
    box.style.left = pct(bbox[0] / size.width);
    box.style.top = pct(bbox[1] / size.height);
    box.style.width = pct((bbox[2] - bbox[0]) / size.width);
    box.style.height = pct((bbox[3] - bbox[1]) / size.height);
  }

  // the zoom window: the field's box, with some of the page around it, centred
  function zoom(win, bbox, size) {
    var sheet = win.querySelector(".sheet");
    var W = win.clientWidth, H = win.clientHeight;
    var s, cx, cy;
    if (bbox) {
      var bw = Math.max(bbox[2] - bbox[0], 8), bh = Math.max(bbox[3] - bbox[1], 8);
      var margin = Math.max(30, bh * 0.8);
      s = Math.min(W / (bw + 2 * margin), H / (bh + 2 * margin), 4);
      cx = (bbox[0] + bbox[2]) / 2; cy = (bbox[1] + bbox[3]) / 2;
    } else {
      s = W / size.width; cx = size.width / 2; cy = H / (2 * s);
    }
    sheet.style.width = (size.width * s) + "px";
    sheet.style.height = (size.height * s) + "px";
    sheet.style.left = (W / 2 - cx * s) + "px";
    sheet.style.top = (H / 2 - cy * s) + "px";
    place(sheet.querySelector(".box"), bbox, size);
  }

  function say(el, text, bad) {
    if (!el) { return; }
    el.textContent = text;
    el.classList.toggle("bad", !!bad);
  }

  // ------------------------------------------------------------ field view
  function fieldView() {
    var input = document.getElementById("value");
    var msg = document.getElementById("msg");
    var preview = document.getElementById("preview");
    var win = document.getElementById("zoom");
    if (win && D.size) {
      zoom(win, D.bbox, D.size);
      window.addEventListener("resize", function () { zoom(win, D.bbox, D.size); });
      place(document.querySelector("#page .box"), D.bbox, D.size);
    }
    if (input) { input.focus(); input.select(); }
    else { var a = document.getElementById("focus-anchor"); if (a) { a.focus(); } }

    function changed() { return input && input.value !== D.original; }

    function act(action) {
      if (busy) { return; }
      busy = true;
      var body = {action: action};
      if (D.path === null) { body.entry = D.entry; body.path = null; }
      else { body.path = D.path; }
      if (action === "correct") { body.value = input.value; }
      say(msg, action === "correct" ? "saving…" : action === "accept" ? "accepting…" : "postponing…");
      post(D.post, body).then(function (res) {
        var still = (res.reopened || []).some(function (x) { return x.entry === D.entry; });
        // a correction a failing check keeps open: show the field again, with the check's new numbers
        window.location.href = still ? D.self : D.next;
      }).catch(function (e) {
        busy = false;
        say(msg, e.message, true);
        if (input) { input.focus(); }
      });
    }
    function go(url) { if (!busy) { busy = true; window.location.href = url; } }

    var timer = null;
    if (input && preview && D.kind !== "text" && D.kind !== "string") {
      input.addEventListener("input", function () {
        clearTimeout(timer);
        if (!changed()) { say(preview, ""); return; }
        timer = setTimeout(function () {
          var url = D.preview + "&path=" + encodeURIComponent(D.path) + "&value=" + encodeURIComponent(input.value);
          fetch(url, {headers: {"X-Review-Token": D.token}}).then(function (r) { return r.json(); }).then(function (j) {
            if (j.ok) { say(preview, "→ will save " + (j.yuan || (j.value === null ? "null" : String(j.value)))); }
            else { say(preview, j.error, true); }
          }).catch(function () {});
        }, 120);
      });
    }

    document.addEventListener("keydown", function (e) {
      var inTextarea = e.target && e.target.tagName === "TEXTAREA";
      if (e.key === "Enter" && !(inTextarea && e.shiftKey) && !e.altKey) {
        if (e.target && e.target.tagName === "A") { return; }
        e.preventDefault();
        act(changed() ? "correct" : "accept");
      } else if (e.key === "Escape") {
        e.preventDefault(); act("postpone");
      } else if ((e.key === "Tab" && !e.shiftKey) || (e.key === "ArrowDown" && !inTextarea)) {
        e.preventDefault(); go(D.next);
      } else if ((e.key === "Tab" && e.shiftKey) || (e.key === "ArrowUp" && !inTextarea)) {
        e.preventDefault(); go(D.prev);
      }
    });
    document.getElementById("accept").addEventListener("click", function () { act(changed() ? "correct" : "accept"); });
    document.getElementById("postpone").addEventListener("click", function () { act("postpone"); });
    document.getElementById("next").addEventListener("click", function () { go(D.next); });
    document.getElementById("prev").addEventListener("click", function () { go(D.prev); });
  }

  // ------------------------------------------------------------ group view
  function groupView() {
    var tiles = Array.prototype.slice.call(document.querySelectorAll(".tile"));
    function control(t) { return t.querySelector(".tile-value"); }
    function open(t) { return !t.classList.contains("done"); }
    function focusFrom(i, step) {
      for (var j = i + step; j >= 0 && j < tiles.length; j += step) {
        if (open(tiles[j])) { control(tiles[j]).focus(); if (control(tiles[j]).select) { control(tiles[j]).select(); } return; }
      }
    }
    function act(t, action) {
      var c = control(t);
      var body = {action: action};
      var path = t.getAttribute("data-path");
      if (path) { body.path = path; } else { body.path = null; body.entry = parseInt(t.getAttribute("data-entry"), 10); }
      var isInput = c.tagName === "INPUT" || c.tagName === "TEXTAREA";
      if (isInput && c.value !== t.getAttribute("data-original") && action === "accept") { action = body.action = "correct"; }
      if (action === "correct") { body.value = c.value; }
      var rec = t.getAttribute("data-record");
      return post(D.post[rec], body).then(function (res) {
        var touched = {};
        (res.entries || []).forEach(function (x) { touched[x.entry] = x.status; });
        tiles.forEach(function (o) {
          var st = touched[o.getAttribute("data-entry")];
          if (o.getAttribute("data-record") === rec && st) {
            o.classList.add("done", "st-" + st);
            say(o.querySelector(".tile-msg"), st);
          }
        });
        (res.reopened || []).forEach(function (x) {
          tiles.forEach(function (o) {
            if (o.getAttribute("data-record") === rec && parseInt(o.getAttribute("data-entry"), 10) === x.entry) {
              o.classList.remove("done"); say(o.querySelector(".tile-msg"), "saved; the check still fails", true);
            }
          });
        });
      }).catch(function (e) { say(t.querySelector(".tile-msg"), e.message, true); throw e; });
    }
    function acceptAll() {
      var todo = tiles.filter(function (t) {
        var c = control(t);
        return open(t) && (c.tagName === "BUTTON" || c.value === t.getAttribute("data-original"));
      });
      if (!todo.length || !window.confirm("Accept " + todo.length + " unchanged field(s) as shown?")) { return; }
      var chain = Promise.resolve();
      todo.forEach(function (t) { chain = chain.then(function () { if (open(t)) { return act(t, "accept").catch(function () {}); } }); });
      chain.then(function () { focusFrom(-1, 1); });
    }
    tiles.forEach(function (t, i) {
      var c = control(t);
      c.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); setTimeout(acceptAll, 0); }
        else if (e.key === "Enter" && !(c.tagName === "TEXTAREA" && e.shiftKey)) {
          e.preventDefault();
          if (busy) { return; }
          busy = true;
          act(t, "accept").then(function () { busy = false; focusFrom(i, 1); }, function () { busy = false; });
        } else if (e.key === "Escape") {
          e.preventDefault();
          act(t, "postpone").then(function () { focusFrom(i, 1); }, function () {});
        } else if ((e.key === "Tab" && !e.shiftKey) || (e.key === "ArrowDown" && c.tagName !== "TEXTAREA")) { e.preventDefault(); focusFrom(i, 1); }
        else if ((e.key === "Tab" && e.shiftKey) || (e.key === "ArrowUp" && c.tagName !== "TEXTAREA")) { e.preventDefault(); focusFrom(i, -1); }
      });
    });
    var all = document.getElementById("accept-all");
    if (all) { all.addEventListener("click", acceptAll); }
    if (tiles.length) { focusFrom(-1, 1); }
  }

  // ------------------------------------------------------------ record view
  function recordView() {
    var boxes = {};
    Array.prototype.forEach.call(document.querySelectorAll(".record-view .page"), function (pg) {
      var size = D.sizes[pg.getAttribute("data-page")];
      var sheet = pg.querySelector(".sheet");
      (D.boxes || []).forEach(function (b) {
        if (String(b.page) !== pg.getAttribute("data-page")) { return; }
        var el = document.createElement("div");
        el.className = "box small" + (b.flag ? " flag" : "");
        el.title = b.path;
        place(el, b.bbox, size);
        sheet.appendChild(el);
        (boxes[b.path] = boxes[b.path] || []).push(el);
      });
    });
    var lit = [];
    function light(path) {
      lit.forEach(function (el) { el.classList.remove("hl"); });
      lit = boxes[path] || [];
      lit.forEach(function (el) { el.classList.add("hl"); });
      if (lit.length) { lit[0].scrollIntoView({block: "center", inline: "nearest"}); }
    }
    var inputs = Array.prototype.slice.call(document.querySelectorAll(".record-value"));
    inputs.forEach(function (inp, i) {
      inp.addEventListener("focus", function () { light(inp.getAttribute("data-path")); });
      inp.addEventListener("keydown", function (e) {
        var msg = inp.parentNode.querySelector(".row-msg");
        var area = inp.tagName === "TEXTAREA";
        if (e.key === "Enter" && !(area && e.shiftKey)) {
          e.preventDefault();
          if (inp.value === inp.getAttribute("data-original")) { if (inputs[i + 1]) { inputs[i + 1].focus(); } return; }
          say(msg, "saving…");
          post(D.post, {path: inp.getAttribute("data-path"), value: inp.value, action: "correct"}).then(function (res) {
            inp.setAttribute("data-original", inp.value);
            say(msg, "saved → " + (res.value === null ? "null" : String(res.value)));
          }).catch(function (err) { say(msg, err.message, true); });
        } else if (e.key === "ArrowDown" && !area && inputs[i + 1]) { e.preventDefault(); inputs[i + 1].focus(); }
        else if (e.key === "ArrowUp" && !area && inputs[i - 1]) { e.preventDefault(); inputs[i - 1].focus(); }
        else if (e.key === "Escape") { inp.value = inp.getAttribute("data-original"); say(msg, ""); }
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll(".entry-accept"), function (btn) {
      btn.addEventListener("click", function () {
        post(D.post, {entry: parseInt(btn.getAttribute("data-entry"), 10), action: "accept"}).then(function () {
          btn.textContent = "accepted"; btn.disabled = true;
        }).catch(function (err) { btn.textContent = err.message; });
      });
    });
  }

  // ------------------------------------------------------------ queue
  function queueView() {
    document.addEventListener("keydown", function (e) {
      var tag = e.target && e.target.tagName;
      if (e.key === "Enter" && tag !== "INPUT" && tag !== "SELECT" && tag !== "A" && tag !== "BUTTON") {
        var start = document.getElementById("start");
        if (start) { e.preventDefault(); window.location.href = start.href; }
      }
    });
  }

  if (view === "field") { fieldView(); }
  else if (view === "group") { groupView(); }
  else if (view === "record") { recordView(); }
  else if (view === "queue") { queueView(); }
})();
