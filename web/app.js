// app.js - the dashboard's shell: the view registry, the machine chooser, the router
// (#/<view>/<machine>) and live updates.
//
// A view is one module, web/view-<name>.js, listed by the server in /web/views.json (made at
// build time from the files named view-*.js). It exports
//   id, title, order      where it sits in the navigation
//   global (optional)     true: it needs no machine (the machines list)
//   render(machine, api, ctx) -> Element (or a Promise of one); machine is the id
//   update(el, machine, api, ctx) (optional) -> refresh in place after a change; without it
//                         the view is rendered again (views with `live: false` are left alone)
// Adding a view for a later mechanism is one such file, and its name in web/meson.build.
//
// Live updates: an EventSource on /v1/machines/{id}/events (one event per journaled command,
// id = its seq); where the daemon has no event stream, the journal is polled instead.
import { api, m } from './api.js';
import { h, toast } from './ui.js';

const views = [];
const ctx = { seq: 0, live: null, mode: 'off', onChange: new Set(), log: [] };
window.mm32 = ctx; // for the browser test and the curious: ctx.perf, ctx.seq, ctx.mode
let current = { view: null, machine: null, el: null };
let timer = null;

async function loadViews() {
  const names = await api.get('/web/views.json');
  const mods = await Promise.all(names.map((n) => import(`./${n}`)));
  views.push(...mods.filter((x) => x.id && x.render).sort((a, b) => (a.order ?? 99) - (b.order ?? 99)));
}

function parseHash() {
  const [, view, machine] = (location.hash || '#/machines').split('/');
  return { view: view || 'machines', machine: machine ? decodeURIComponent(machine) : null };
}

export function go(view, machine) {
  const mach = machine ?? current.machine ?? '';
  location.hash = `#/${view}/${encodeURIComponent(mach)}`;
}
ctx.go = go;

async function fillMachines(selected) {
  const sel = document.getElementById('machine');
  let list = [];
  try { list = (await api.get('/v1/machines')).machines; } catch (e) { toast(e.message, true); }
  ctx.machines = list;
  sel.replaceChildren(...list.map((x) => h('option', { value: x.id }, `${x.id} (${x.config.mem / 1048576} MiB${x.config.pae ? ', PAE' : ''})`)));
  if (selected && list.some((x) => x.id === selected)) sel.value = selected;
  return list;
}
ctx.refreshMachines = () => fillMachines(current.machine);

function nav(active) {
  document.getElementById('nav').replaceChildren(...views.map((v) =>
    h('a', { href: `#/${v.id}/${encodeURIComponent(current.machine || '')}`, class: v.id === active ? 'active' : '', 'data-view': v.id }, v.title)));
}

// ---- live updates ---------------------------------------------------------------------------

function setLive(mode) {
  ctx.mode = mode;
  const el = document.getElementById('live');
  el.textContent = mode === 'sse' ? 'live (SSE)' : mode === 'poll' ? 'live (polling)' : 'offline';
  el.className = `live ${mode === 'off' ? 'off' : 'on'}`;
}

function changed(seq, data) {
  if (seq <= ctx.seq) return;
  ctx.seq = seq;
  if (data) ctx.log.push({ seq, data });
  if (ctx.log.length > 200) ctx.log.splice(0, ctx.log.length - 200);
  for (const f of ctx.onChange) f(seq, data);
  clearTimeout(timer);
  timer = setTimeout(refresh, 150); // a burst of events costs one refresh
}

// the machine's last seq: the list's summary has it; else the state hash says it (slower: it
// hashes the machine)
async function lastSeq(id) {
  const x = ctx.machines && ctx.machines.find((y) => y.id === id);
  if (x && typeof x.seq === 'number') return x.seq;
  try { return (await api.get(m(id, '/state-hash'))).seq; } catch (e) { return 0; }
}

function unsubscribe() {
  if (ctx.live) ctx.live.close();
  ctx.live = null;
  setLive('off');
}

async function subscribe(id) {
  unsubscribe();
  if (!id) return;
  ctx.seq = await lastSeq(id);
  let opened = false, closed = false;
  const es = new EventSource(m(id, '/events'));
  const onEvent = (e) => {
    let data = null;
    try { data = JSON.parse(e.data); } catch (err) { /* a heartbeat */ }
    const seq = Number(e.lastEventId || (data && data.seq) || 0);
    if (seq) changed(seq, data);
  };
  es.onopen = () => { opened = true; setLive('sse'); };
  es.onmessage = onEvent;
  es.addEventListener('command', onEvent);
  es.onerror = () => {
    if (opened || closed) return; // EventSource reconnects by itself, with Last-Event-ID
    closed = true;
    es.close();
    poll(id);
  };
  ctx.live = { close: () => { closed = true; es.close(); } };
}

// no event stream: the journal's entries after the last seq seen, once a second
function poll(id) {
  let stop = false, busy = false;
  setLive('poll');
  const tick = async () => {
    if (stop || busy) return;
    busy = true;
    try {
      const j = await api.get(m(id, `/journal?after=${ctx.seq}&limit=1000`));
      const news = (j.entries || []).filter((e) => e.seq > ctx.seq);
      for (const e of news) changed(e.seq, e);
    } catch (e) { /* the machine went away: the next route change says so */ }
    busy = false;
  };
  const t = setInterval(tick, 1000);
  ctx.live = { close: () => { stop = true; clearInterval(t); } };
}

// ---- rendering ------------------------------------------------------------------------------

async function show() {
  const { view, machine } = parseHash();
  const v = views.find((x) => x.id === view) || views[0];
  const list = await fillMachines(machine);
  let mach = machine;
  if (!mach && !v.global && list.length) mach = list[0].id;
  if (mach !== current.machine) {
    current.machine = mach;
    subscribe(mach);
  }
  current.view = v;
  nav(v.id);
  document.title = `mm32 — ${v.title}${mach ? ` — ${mach}` : ''}`;
  const main = document.getElementById('view');
  if (!v.global && !mach) {
    main.replaceChildren(h('p', null, 'No machine yet: create one under ', h('a', { href: '#/machines' }, 'Machines'), '.'));
    return;
  }
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  try {
    const el = await v.render(mach, api, ctx);
    if (current.view !== v) return;
    current.el = el;
    main.replaceChildren(el);
  } catch (e) {
    main.replaceChildren(h('p', { class: 'error' }, e.message));
  }
}

async function refresh() {
  const v = current.view;
  if (!v || !current.el || v.live === false) return;
  try {
    if (v.update) await v.update(current.el, current.machine, api, ctx);
    else {
      const el = await v.render(current.machine, api, ctx);
      if (current.view === v && current.el.isConnected) {
        current.el.replaceWith(el);
        current.el = el;
      }
    }
  } catch (e) { /* shown on the next render */ }
}
ctx.refresh = refresh;

async function main() {
  await loadViews();
  document.getElementById('machine').addEventListener('change', (e) => go(current.view ? current.view.id : 'zones', e.target.value));
  window.addEventListener('hashchange', show);
  await show();
}

main().catch((e) => {
  document.getElementById('view').replaceChildren(h('p', { class: 'error' }, e.message));
});
