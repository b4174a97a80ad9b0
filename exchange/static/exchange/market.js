// The market page (/): book, trades, candles and ticker over /ws/ and /api/v1; a
// logged-in trader's orders go through POST /api/v1/orders with the session and CSRF.
// Plain script, no build step. Ids are 63-bit: frames are read with them as text.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("market-config").textContent);
  var API = "/api/v1";
  var BOOK_LEVELS = 15;
  var TRADES_SHOWN = 30;
  var FILLS_SHOWN = 20;
  var OPEN = { PENDING_NEW: true, NEW: true, PARTIALLY_FILLED: true };

  var market = null;
  var book = emptyBook();
  var trades = [];
  var orders = new Map();
  var closed = new Set();
  var fills = [];
  var balances = new Map();
  var ws = null;
  var retries = 0;
  var renderQueued = false;
  var chart = null;
  var candles = null;
  var lastCandle = null;

  function el(id) { return document.getElementById(id); }
  function emptyBook() { return { seq: null, bids: new Map(), asks: new Map() }; }

  // JSON numbers past 2^53 lose digits in JavaScript; keep order and trade ids as text.
  function parse(text) { return JSON.parse(text.replace(/"(order_id|trade_id|id)":(\d+)/g, '"$1":"$2"')); }

  function api(path, method, body) {
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method && method !== "GET") headers["X-CSRFToken"] = csrfToken();
    return fetch(API + path, {
      method: method || "GET", headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.text().then(function (text) {
        var answer = text ? parse(text) : null;
        if (!response.ok) throw new Error((answer && answer.message) || response.statusText);
        return answer;
      });
    });
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function marketPath(m) { return "/markets/" + m.symbol; }
  function marketChannels(m) { return ["depth:" + m.symbol, "trades:" + m.symbol, "ticker:" + m.symbol]; }

  // ------------------------------------------------------------------ socket

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + "/ws/");
    ws.onopen = function () {
      retries = 0;
      el("connection").textContent = "live";
      if (market) send({ op: "subscribe", channels: marketChannels(market) });
    };
    ws.onmessage = function (event) { handle(parse(event.data)); };
    ws.onclose = function () {
      el("connection").textContent = "reconnecting…";
      book = emptyBook();
      setTimeout(connect, Math.min(10000, 500 * Math.pow(2, retries++)));
    };
  }

  function send(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  function handle(frame) {
    var own = market && frame.channel && frame.channel.slice(frame.channel.indexOf(":") + 1) === market.symbol;
    switch (frame.type) {
      case "authenticated": send({ op: "subscribe", channels: ["private"] }); break;
      case "subscribed": if (frame.channel === "private") loadPrivate(); break;
      case "depth_snapshot": if (own) snapshot(frame.data); break;
      case "depth_update": if (own) frame.data.forEach(depthUpdate); break;
      case "trade": if (own) frame.data.forEach(function (t) { addTrade(t, true); }); break;
      case "ticker": if (own) showTicker(frame.data); break;
      case "order": upsertOrder(frame.data); break;
      case "fill": addFill(frame.data, true); break;
      case "balance": balances.set(frame.data.asset, frame.data); break;
      case "resync": loadPrivate(); break;
      case "error": if (frame.code !== "NOT_SUBSCRIBED") say(frame.message, true); break;
    }
    queueRender();
  }

  // -------------------------------------------------------------- the book

  function snapshot(data) {
    book = emptyBook();
    book.seq = data.seq;
    data.bids.forEach(function (l) { book.bids.set(l[0], l[1]); });
    data.asks.forEach(function (l) { book.asks.set(l[0], l[1]); });
  }

  function depthUpdate(update) {
    if (book.seq === null || update.seq <= book.seq) return;
    if (update.seq !== book.seq + 1) {
      // A missed update: subscribing again answers with a fresh snapshot.
      book = emptyBook();
      send({ op: "subscribe", channels: ["depth:" + market.symbol] });
      return;
    }
    book.seq = update.seq;
    [[book.bids, update.bids], [book.asks, update.asks]].forEach(function (pair) {
      pair[1].forEach(function (l) {
        if (Number(l[1]) === 0) pair[0].delete(l[0]); else pair[0].set(l[0], l[1]);
      });
    });
  }

  function sortedLevels(side, descending) {
    var levels = Array.from(side.entries());
    levels.sort(function (a, b) { return descending ? b[0] - a[0] : a[0] - b[0]; });
    return levels.slice(0, BOOK_LEVELS);
  }

  // ------------------------------------------------------ trades and candles

  function addTrade(trade, live) {
    var id = trade.trade_id || trade.id;
    if (trades.some(function (t) { return t.id === id; })) return;
    var entry = { id: id, price: trade.price, quantity: trade.quantity, side: trade.taker_side,
      ts: trade.ts || trade.executed_at };
    if (live) trades.unshift(entry); else trades.push(entry);
    trades.length = Math.min(trades.length, TRADES_SHOWN);
    if (live) addToCandle(entry);
  }

  function addToCandle(trade) {
    if (!candles) return;
    var time = Math.floor(trade.ts / 60000) * 60;
    var price = Number(trade.price);
    if (lastCandle && lastCandle.time === time) {
      lastCandle.high = Math.max(lastCandle.high, price);
      lastCandle.low = Math.min(lastCandle.low, price);
      lastCandle.close = price;
    } else if (!lastCandle || time > lastCandle.time) {
      lastCandle = { time: time, open: price, high: price, low: price, close: price };
    } else {
      return;
    }
    candles.update(Object.assign({}, lastCandle));
  }

  function initChart() {
    if (!window.LightweightCharts) return;
    var charts = window.LightweightCharts;
    chart = charts.createChart(el("chart"), {
      autoSize: true,
      layout: { background: { color: "#161b22" }, textColor: "#e6edf3" },
      grid: { vertLines: { color: "#21262d" }, horzLines: { color: "#21262d" } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    candles = chart.addSeries(charts.CandlestickSeries, {
      upColor: "#3fb950", downColor: "#ff7b72", wickUpColor: "#3fb950", wickDownColor: "#ff7b72",
      borderVisible: false,
    });
  }

  function loadCandles(m) {
    if (!candles) return;
    candles.applyOptions({ priceFormat: { type: "price", precision: decimals(m.tick_size), minMove: Number(m.tick_size) } });
    api(marketPath(m) + "/candles?interval=1m&limit=300").then(function (rows) {
      if (m !== market) return;
      var data = rows.map(function (c) {
        return { time: c.open_time / 1000, open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close) };
      });
      candles.setData(data);
      lastCandle = data.length ? Object.assign({}, data[data.length - 1]) : null;
    });
  }

  // Amounts as the REST API writes them: "0.10000" -> "0.1", "29000.00" -> "29000".
  function plain(text) {
    if (typeof text !== "string" || text.indexOf(".") < 0) return text;
    return text.replace(/0+$/, "").replace(/\.$/, "");
  }

  function decimals(text) { var dot = text.indexOf("."); return dot < 0 ? 0 : text.length - dot - 1; }

  // ------------------------------------------------------------ own account

  function upsertOrder(order) {
    // The answer to a POST may arrive after the engine's own events about the order.
    if (order.status === "PENDING_NEW" && (closed.has(order.order_id) || orders.has(order.order_id))) return;
    var known = orders.get(order.order_id) || {};
    var merged = Object.assign({}, known, order);
    merged.market = order.market || order.symbol || known.market;
    if (OPEN[merged.status]) {
      orders.set(order.order_id, merged);
    } else {
      orders.delete(order.order_id);
      closed.add(order.order_id);
    }
  }

  function addFill(fill, live) {
    var entry = Object.assign({}, fill, { market: fill.market || fill.symbol });
    if (live) fills.unshift(entry); else fills.push(entry);
    fills.length = Math.min(fills.length, 200);
  }

  function loadPrivate() {
    if (!config.user) return;
    api("/orders?open_only=true&limit=200").then(function (page) {
      orders = new Map();
      page.items.forEach(upsertOrder);
      queueRender();
    });
    api("/fills?limit=100").then(function (page) {
      fills = [];
      page.items.forEach(function (f) { addFill(f, false); });
      queueRender();
    });
    api("/balances").then(function (rows) {
      balances = new Map(rows.map(function (b) { return [b.asset, b]; }));
      queueRender();
    });
  }

  // ---------------------------------------------------------------- render

  function queueRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(function () { renderQueued = false; render(); });
  }

  function render() {
    if (!market) return;
    var asks = sortedLevels(book.asks, false);
    var bids = sortedLevels(book.bids, true);
    fill(el("asks"), asks.slice().reverse().map(function (l) { return [plain(l[0]), plain(l[1])]; }), "sell");
    fill(el("bids"), bids.map(function (l) { return [plain(l[0]), plain(l[1])]; }), "buy");
    el("spread").textContent = asks.length && bids.length
      ? "Spread " + (asks[0][0] - bids[0][0]).toFixed(decimals(market.tick_size))
      : book.seq === null ? "Loading the book…" : "No orders on one side";
    fill(el("trades"), trades.map(function (t) {
      return { cells: [plain(t.price), plain(t.quantity), new Date(t.ts).toLocaleTimeString([], { hour12: false })], cls: t.side === "BUY" ? "buy" : "sell" };
    }));
    if (!config.user) return;
    var mine = Array.from(orders.values()).filter(function (o) { return o.market === market.symbol; });
    fill(el("open-orders"), mine.map(function (o) {
      return { cells: [o.side || "", plain(o.price) || "market", plain(o.quantity) || "", plain(o.executed_quantity) || "0"],
        cls: o.side === "BUY" ? "buy" : "sell", cancel: o.order_id };
    }));
    fill(el("fills"), fills.filter(function (f) { return f.market === market.symbol; }).slice(0, FILLS_SHOWN).map(function (f) {
      return { cells: [f.side, plain(f.price), plain(f.quantity), plain(f.fee) + " " + f.fee_asset], cls: f.side === "BUY" ? "buy" : "sell" };
    }));
    var assets = [market.base, market.quote];
    balances.forEach(function (_, asset) { if (assets.indexOf(asset) < 0) assets.push(asset); });
    fill(el("balances"), assets.map(function (asset) {
      var b = balances.get(asset) || { available: "0", locked: "0" };
      return [asset, plain(b.available), plain(b.locked)];
    }));
  }

  function fill(tbody, rows, cls) {
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) {
      var spec = Array.isArray(row) ? { cells: row, cls: cls } : row;
      var tr = document.createElement("tr");
      if (spec.cls) tr.className = spec.cls;
      spec.cells.forEach(function (text) {
        var td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      });
      if (spec.cancel) {
        var td = document.createElement("td");
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = "Cancel";
        button.setAttribute("aria-label", "Cancel " + spec.cells[0] + " " + spec.cells[2] + " at " + spec.cells[1]);
        button.addEventListener("click", function () { cancel(spec.cancel, button); });
        td.appendChild(button);
        tr.appendChild(td);
      }
      fragment.appendChild(tr);
    });
    tbody.replaceChildren(fragment);
  }

  function showTicker(t) {
    el("t-last").textContent = plain(t.last) || "–";
    el("t-change").textContent = plain(t.change) || "–";
    el("t-change").className = t.change && t.change.charAt(0) === "-" ? "sell" : "buy";
    el("t-high").textContent = plain(t.high) || "–";
    el("t-low").textContent = plain(t.low) || "–";
    el("t-volume").textContent = (plain(t.volume) || "0") + " " + market.base;
    el("t-trades").textContent = String(t.trades);
  }

  function say(text, isError) {
    var status = el("order-status");
    if (!status) return;
    status.textContent = text;
    status.className = isError ? "error" : "";
  }

  // ---------------------------------------------------------------- actions

  function selectMarket(symbol) {
    var next = config.markets.filter(function (m) { return m.symbol === symbol; })[0] || config.markets[0];
    if (!next) return;
    if (market) send({ op: "unsubscribe", channels: marketChannels(market) });
    market = next;
    book = emptyBook();
    trades = [];
    lastCandle = null;
    el("market-select").value = market.symbol;
    history.replaceState(null, "", "#" + market.symbol);
    document.querySelectorAll("[data-unit]").forEach(function (unit) {
      unit.textContent = "(" + market[unit.getAttribute("data-unit")] + ")";
    });
    send({ op: "subscribe", channels: marketChannels(market) });
    var m = market;
    api(marketPath(m) + "/trades?limit=" + TRADES_SHOWN).then(function (rows) {
      if (m !== market) return;
      rows.forEach(function (t) { addTrade(t, false); });
      queueRender();
    });
    api(marketPath(m) + "/ticker").then(function (t) { if (m === market) showTicker(t); });
    loadCandles(m);
    queueRender();
  }

  function place(event) {
    event.preventDefault();
    var form = event.target;
    var type = el("order-type").value;
    var order = {
      market: market.symbol, type: type,
      side: form.querySelector("input[name=side]:checked").value,
      quantity: el("order-quantity").value.trim(),
    };
    if (type === "LIMIT") order.price = el("order-price").value.trim();
    var button = el("place-order");
    button.disabled = true;
    say("Placing…");
    api("/orders", "POST", order).then(function (placed) {
      upsertOrder(placed);
      say(order.side + " " + order.quantity + " " + market.base + ": " + placed.status.replace("_", " ").toLowerCase());
      queueRender();
    }, function (error) {
      say("Refused: " + error.message, true);
    }).then(function () { button.disabled = false; });
  }

  function cancel(orderId, button) {
    button.disabled = true;
    api("/orders/" + orderId, "DELETE").then(function () {
      say("Cancel requested");
    }, function (error) {
      button.disabled = false;
      say("Cancel refused: " + error.message, true);
    });
  }

  initChart();
  el("market-select").addEventListener("change", function (e) { selectMarket(e.target.value); });
  var form = el("order-form");
  if (form) {
    form.addEventListener("submit", place);
    el("order-type").addEventListener("change", function (e) {
      el("order-price").disabled = e.target.value !== "LIMIT";
    });
  }
  if (!config.markets.length) el("spread").textContent = "No markets yet: create one in the admin.";
  selectMarket(decodeURIComponent(location.hash.slice(1)));
  loadPrivate();
  connect();
})();
