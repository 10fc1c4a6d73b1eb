// ui.js - small DOM helpers shared by the views: elements without innerHTML (the page's
// Content-Security-Policy forbids inline styles and scripts), tables, numbers, charts.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'style') Object.assign(el.style, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined) el.setAttribute(k, v);
  for (const c of children.flat(Infinity)) if (c) el.append(c instanceof Node ? c : document.createTextNode(c));
  return el;
}

export function table(head, rows, attrs) {
  return h('table', attrs,
    h('thead', null, h('tr', null, head.map((x) => h('th', null, x)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((x) => h('td', null, x))))));
}

export const kib = (pages) => `${(pages * 4).toLocaleString('en')} KiB`;
export const mib = (bytes) => `${(bytes / 1048576).toLocaleString('en', { maximumFractionDigits: 1 })} MiB`;
export const hex = (n) => `0x${Math.trunc(n).toString(16)}`;
export const num = (n) => (typeof n === 'number' ? n.toLocaleString('en') : String(n));

export function toast(msg, bad) {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.className = bad ? 'show bad' : 'show';
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = ''; }, bad ? 6000 : 2500);
}

// run an action: its errors (problem+json) are shown, not thrown
export async function act(fn, okMsg) {
  try {
    const r = await fn();
    if (okMsg) toast(typeof okMsg === 'function' ? okMsg(r) : okMsg);
    return r;
  } catch (e) {
    toast(e.message, true);
    return undefined;
  }
}

export function field(label, input) {
  return h('label', { class: 'field' }, h('span', null, label), input);
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', null, title), ...children);
}

// a line chart on a canvas: series [{name, color, points: [[x, y]...]}]
export function lineChart(series, opts = {}) {
  const W = opts.width || 640, H = opts.height || 200, pad = 40;
  const c = h('canvas', { width: W, height: H, class: 'chart' });
  const g = c.getContext('2d');
  const pts = series.flatMap((x) => x.points);
  if (!pts.length) return c;
  let x0 = Math.min(...pts.map((p) => p[0])), x1 = Math.max(...pts.map((p) => p[0]));
  // the y axis spans the points (a change of a few pages stays visible), and the horizontal
  // lines that fall near them
  let y0 = Math.min(...pts.map((p) => p[1])), y1 = Math.max(...pts.map((p) => p[1]));
  const span = Math.max(y1 - y0, 16);
  y0 = Math.max(0, y0 - span * 0.1); y1 += span * 0.1;
  if (x1 === x0) x1 = x0 + 1;
  const X = (x) => pad + (x - x0) / (x1 - x0) * (W - pad - 10);
  const Y = (y) => H - 20 - (y - y0) / (y1 - y0) * (H - 30);
  g.font = '11px sans-serif';
  g.fillStyle = '#555';
  g.strokeStyle = '#ccc';
  g.beginPath(); g.moveTo(pad, 10); g.lineTo(pad, H - 20); g.lineTo(W - 10, H - 20); g.stroke();
  g.fillText(num(Math.round(y1)), 2, 14);
  g.fillText(num(Math.round(y0)), 2, H - 20);
  g.fillText(`seq ${x0}`, pad, H - 5);
  g.fillText(`seq ${x1}`, W - 60, H - 5);
  for (const l of (opts.hlines || []).filter((x) => x.y >= y0 && x.y <= y1)) {
    g.strokeStyle = l.color; g.setLineDash([4, 3]);
    g.beginPath(); g.moveTo(pad, Y(l.y)); g.lineTo(W - 10, Y(l.y)); g.stroke();
    g.fillStyle = l.color; g.fillText(l.name, W - 50, Y(l.y) - 2);
  }
  g.setLineDash([]);
  for (const sr of series) {
    g.strokeStyle = sr.color; g.lineWidth = 2; g.beginPath();
    sr.points.forEach((p, i) => (i ? g.lineTo(X(p[0]), Y(p[1])) : g.moveTo(X(p[0]), Y(p[1]))));
    if (sr.points.length === 1) g.arc(X(sr.points[0][0]), Y(sr.points[0][1]), 3, 0, 7);
    g.stroke();
  }
  return c;
}
