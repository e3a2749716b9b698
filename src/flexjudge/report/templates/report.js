(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("fj-data").textContent);
  var cfg = data.config, rows = data.rows, media = data.media;
  var compare = cfg.mode === "compare";

  function yesNo(v) { return v === true ? "✓" : v === false ? "✗" : ""; }
  function num(v, digits) { return v === null || v === undefined ? "" : Number(v).toFixed(digits); }
  var COLUMNS = compare ? [
    ["id", "id"], ["task", "task"], ["group", "group"], ["a", "A: " + cfg.names[0]],
    ["b", "B: " + cfg.names[1]], ["gold", "gold"], ["a_correct", "A right"],
    ["b_correct", "B right"], ["change", "change"]
  ] : [
    ["id", "id"], ["task", "task"], ["group", "group"], ["status", "status"],
    ["verdict", "verdict"], ["gold", "gold"], ["correct", "right"], ["err", "score − gold"],
    ["agree", "agreement"], ["order", "orders agree"], ["valid", "valid votes"],
    ["reasons", "invalid reasons"]
  ];
  var FILTERS = compare ? [
    ["all", "all", function () { return true; }],
    ["changed", "verdict changed", function (r) { return r.change !== "same"; }],
    ["fixed", "fixed (B right, A wrong)", function (r) { return r.change === "fixed"; }],
    ["broken", "broken (A right, B wrong)", function (r) { return r.change === "broken"; }],
    ["status", "status changed", function (r) { return r.a_status !== r.b_status; }]
  ] : [
    ["all", "all", function () { return true; }],
    ["wrong", "wrong only", function (r) { return r.correct === false; }],
    ["invalid", "invalid only", function (r) { return r.status === "invalid"; }],
    ["error", "errors", function (r) { return r.status === "error"; }],
    ["low", "low agreement (< " + cfg.lowAgreement + ")",
      function (r) { return r.agree !== null && r.agree !== undefined && r.agree < cfg.lowAgreement; }],
    ["orders", "orders disagree", function (r) { return r.order === false; }]
  ];
  function present(key) {
    return rows.some(function (r) { return r[key] !== null && r[key] !== undefined && r[key] !== ""; });
  }
  COLUMNS = COLUMNS.filter(function (c) {
    if (c[0] === "gold") { return cfg.hasGold; }
    if (["err", "group", "reasons", "correct", "a_correct", "b_correct"].indexOf(c[0]) >= 0) {
      return present(c[0]);
    }
    return true;
  });

  var state = { filter: "all", query: "", key: null, dir: 1, page: 0, open: null };
  var shown = rows;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function cell(r, key) {
    var v = r[key];
    if (key === "correct" || key === "a_correct" || key === "b_correct") {
      return el("td", v === true ? "right" : v === false ? "wrong" : "", yesNo(v));
    }
    if (key === "order") { return el("td", v === false ? "wrong" : "", yesNo(v)); }
    if (key === "agree") { return el("td", "num", num(v, 2)); }
    if (key === "err") { return el("td", "num", num(v, 2)); }
    if (key === "status") { return el("td", "st-" + v, v); }
    return el("td", "", v);
  }

  function haystack(r) {
    if (r._hay === undefined) {
      var d = compare ? r.d.a : r.d;
      var req = d && d.request ? d.request.instruction : "";
      r._hay = [r.id, r.group, r.task, r.verdict, r.gold, r.a, r.b, req].join(" ").toLowerCase();
    }
    return r._hay;
  }

  function compareValues(x, y) {
    var nx = x === null || x === undefined || x === "", ny = y === null || y === undefined || y === "";
    if (nx || ny) { return nx === ny ? 0 : nx ? 1 : -1; }
    if (typeof x === "number" && typeof y === "number") { return x - y; }
    if (typeof x === "boolean") { return (x ? 1 : 0) - (y ? 1 : 0); }
    return String(x).localeCompare(String(y), undefined, { numeric: true });
  }

  function apply() {
    var test = FILTERS.filter(function (f) { return f[0] === state.filter; })[0][2];
    var q = state.query.toLowerCase();
    shown = rows.filter(function (r) { return test(r) && (!q || haystack(r).indexOf(q) >= 0); });
    if (state.key) {
      var key = state.key, dir = state.dir;
      shown = shown.slice().sort(function (a, b) {
        var c = compareValues(a[key], b[key]);
        return (a[key] === null || a[key] === undefined || b[key] === null || b[key] === undefined) ? c : c * dir;
      });
    }
    state.page = 0;
    draw();
  }

  function draw() {
    var size = cfg.pageSize, pages = Math.max(1, Math.ceil(shown.length / size));
    state.page = Math.min(state.page, pages - 1);
    var body = document.getElementById("items-body");
    body.textContent = "";
    shown.slice(state.page * size, (state.page + 1) * size).forEach(function (r) {
      var tr = el("tr");
      tr.dataset.id = r.id;
      if (state.open === r) { tr.className = "open"; }
      COLUMNS.forEach(function (c) { tr.appendChild(cell(r, c[0])); });
      tr.addEventListener("click", function () { openDetail(r); });
      body.appendChild(tr);
    });
    document.getElementById("count").textContent = shown.length + " of " + rows.length + " items";
    document.getElementById("page").textContent = "page " + (state.page + 1) + " of " + pages;
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
  }

  function mediaNode(ref) {
    var fig = el("figure");
    if (ref.problem) {
      fig.appendChild(el("span", "wrong", ref.problem));
      return fig;
    }
    if (ref.key && ref.kind === "audio") {
      var audio = el("audio");
      audio.controls = true;
      audio.src = media[ref.key];
      fig.appendChild(audio);
    } else if (ref.key) {
      var img = el("img");
      img.src = media[ref.key];
      img.alt = ref.kind + " " + ref.name;
      fig.appendChild(img);
    } else if (ref.href) {
      var a = el("a", "", "open " + ref.kind + ": " + ref.name);
      a.href = ref.href;
      fig.appendChild(a);
    }
    fig.appendChild(el("figcaption", "", [ref.kind, ref.caption].filter(Boolean).join(" · ")));
    return fig;
  }

  function mediaList(refs) {
    var box = el("div", "media");
    (refs || []).forEach(function (ref) { box.appendChild(mediaNode(ref)); });
    return box;
  }

  function parseText(v) {
    var parts = [];
    if (v.winner) { parts.push("winner " + v.winner); }
    if (v.label) { parts.push("label " + v.label); }
    if (v.scores) { parts.push("scores " + v.scores.join(", ")); }
    if (v.ranking) { parts.push("ranking " + v.ranking.join(" > ")); }
    return parts.join(" · ");
  }

  function requestNode(req) {
    var box = el("div");
    if (!req) {
      box.appendChild(el("p", "muted", "The request was not recorded (no items file)."));
      return box;
    }
    box.appendChild(el("h3", "", "Instruction"));
    box.appendChild(el("pre", "", req.instruction));
    ["criteria", "reference", "scale", "protocol"].forEach(function (k) {
      if (req[k]) { box.appendChild(el("p", "", k + ": " + req[k])); }
    });
    if (req.media && req.media.length) { box.appendChild(mediaList(req.media)); }
    var grid = el("div", "responses");
    (req.responses || []).forEach(function (r, i) {
      var col = el("div");
      col.appendChild(el("h3", "", "Response " + String.fromCharCode(65 + i)));
      if (r.text) { col.appendChild(el("pre", "", r.text)); }
      col.appendChild(mediaList(r.media));
      grid.appendChild(col);
    });
    box.appendChild(grid);
    return box;
  }

  function verdictNode(d, heading) {
    var box = el("div");
    box.appendChild(el("h3", "", heading));
    box.appendChild(el("p", "", parseText(d.verdict) || "no verdict") );
    if (d.verdict.error) { box.appendChild(el("p", "wrong", d.verdict.error)); }
    if (d.verdict.agreement !== undefined) { box.appendChild(el("p", "muted", "agreement " + num(d.verdict.agreement, 2))); }
    d.votes.forEach(function (v, i) {
      var vote = el("div", v.valid ? "vote" : "vote invalid");
      var head = "vote " + (i + 1) + " · shown " + v.order + " · " +
        (v.valid ? "valid · " + parseText(v) : "invalid · " + (v.reason || v.error || "engine error"));
      vote.appendChild(el("strong", "", head));
      if (v.finish_reason) { vote.appendChild(el("span", "muted", " · finish " + v.finish_reason)); }
      vote.appendChild(el("pre", "", v.text));
      box.appendChild(vote);
    });
    box.appendChild(el("p", "muted", "source: " + d.where));
    return box;
  }

  function openDetail(r) {
    state.open = r;
    var box = document.getElementById("detail");
    box.textContent = "";
    box.hidden = false;
    box.appendChild(el("h2", "", "Item " + r.id));
    var d = compare ? r.d.a : r.d;
    var gold = compare ? r.d.gold : r.d.gold;
    box.appendChild(requestNode(d && d.request));
    if (gold) { box.appendChild(el("p", "", "Gold: " + JSON.stringify(gold))); }
    if (compare) {
      var cols = el("div", "cols2");
      cols.appendChild(r.d.a ? verdictNode(r.d.a, "A: " + cfg.names[0]) : el("p", "muted", "not in A"));
      cols.appendChild(r.d.b ? verdictNode(r.d.b, "B: " + cfg.names[1]) : el("p", "muted", "not in B"));
      box.appendChild(cols);
    } else {
      box.appendChild(verdictNode(r.d, "Verdict: " + r.verdict));
    }
    draw();
    box.scrollIntoView({ block: "nearest" });
  }

  var head = document.getElementById("items-head");
  COLUMNS.forEach(function (c) {
    var th = el("th", "", c[1]);
    th.dataset.key = c[0];
    th.addEventListener("click", function () {
      state.dir = state.key === c[0] ? -state.dir : 1;
      state.key = c[0];
      Array.prototype.forEach.call(head.children, function (h) { h.textContent = h.textContent.replace(/ [▲▼]$/, ""); });
      th.textContent = c[1] + (state.dir > 0 ? " ▲" : " ▼");
      apply();
    });
    head.appendChild(th);
  });
  var bar = document.getElementById("filters");
  FILTERS.forEach(function (f) {
    var n = rows.filter(f[2]).length;
    var b = el("button", f[0] === "all" ? "on" : "", f[1] + " (" + n + ")");
    b.type = "button";
    b.dataset.filter = f[0];
    b.addEventListener("click", function () {
      state.filter = f[0];
      Array.prototype.forEach.call(bar.children, function (x) { x.className = x === b ? "on" : ""; });
      apply();
    });
    bar.appendChild(b);
  });
  document.getElementById("search").addEventListener("input", function (e) {
    state.query = e.target.value;
    apply();
  });
  document.getElementById("prev").addEventListener("click", function () { state.page -= 1; draw(); });
  document.getElementById("next").addEventListener("click", function () { state.page += 1; draw(); });
  apply();
}());
