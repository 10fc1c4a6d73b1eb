// view-memmap.js - physical memory, every page frame a cell: mem_map at a glance.
//
// The bytes come from GET /v1/machines/{id}/memmap (one byte a frame: kind << 4 | order,
// api/memmap.c), drawn 1 pixel a frame into an offscreen canvas of 1024 frames a row (a row
// is 4 MiB: what one page directory entry of 686 maps), then scaled onto the visible canvas
// without smoothing. Wheel or the buttons zoom, dragging pans, a click opens the frame's
// struct page (GET /frames/{pfn}) with the kernel's fields explained. ctx.perf records the
// frames drawn and the time to fetch and draw them.
import { h, section, act, hex, num } from './ui.js';

export const id = 'memmap';
export const title = 'Physical memory';
export const order = 30;

const COLS = 1024;
const KINDS = ['absent', 'reserved', 'free (buddy)', 'free (per-CPU list)', 'allocated', 'slab',
  'page table', 'kmalloc_large', 'kmapped (HighMem)', 'kernel\'s own (page table, vmalloc)'];
// free blocks: green, darker for higher orders; the rest one colour a kind
const FREE = Array.from({ length: 11 }, (_, o) => [200 - o * 14, 235 - o * 9, 190 - o * 15]);
const KIND_RGB = [[228, 228, 228], [120, 120, 120], null, [102, 194, 165], [56, 108, 176],
  [253, 174, 97], [153, 112, 171], [166, 86, 40], [231, 41, 138], [128, 0, 38]];

function rgb(b, high) {
  const k = b >> 4, o = b & 15;
  let c = k === 2 ? FREE[Math.min(o, 10)] : KIND_RGB[k] || [0, 0, 0];
  if (high && k !== 0) c = [c[0] * 0.8 + 50, c[1] * 0.8 + 45, c[2] * 0.6]; // HighMem: warmer
  return c;
}

// every byte's colour as one RGBA word (little-endian ABGR), lowmem then HighMem: drawing a
// frame is one table lookup and one store
const PALETTE = new Uint32Array(512);
for (let i = 0; i < 512; i++) {
  const c = rgb(i & 255, i > 255).map((x) => Math.round(Math.min(255, x)));
  PALETTE[i] = (255 << 24 | c[2] << 16 | c[1] << 8 | c[0]) >>> 0;
}

const EXPLAIN = {
  pfn: 'page frame number: the physical address >> PAGE_SHIFT (12).',
  phys: 'physical address of the frame (PFN_PHYS).',
  state: 'where the allocator has it: on a buddy free list, on a per-CPU list, allocated, or reserved by memblock at boot.',
  flags: 'page->flags: PG_* bits (reserved, slab, head...) with the zone number in the top bits.',
  zone: 'the zone the frame belongs to (page_zonenum): DMA below 16 MiB, Normal up to high_memory, HighMem above.',
  refcount: 'page->_refcount: users of the page; 0 when free. put_page() frees it when it drops to 0.',
  mapcount: 'page->_mapcount: page-table mappings by user space, -1 when none. For a free page the same word holds page_type.',
  page_type: 'the page_type overlay of _mapcount: "buddy" heads a free block (PageBuddy), "table" is a page table.',
  mapping: 'page->mapping: the address_space (file/anon) it belongs to; for a slab page, its kmem_cache.',
  index: 'page->index: offset in the mapping; for a buddy page, the free list\'s migrate type; for a slab, its freelist.',
  private: 'page->private: for a buddy page the order of its free block (set_buddy_order()).',
  pageblock_migratetype: 'the migrate type of the pageblock (2^pageblock_order pages) holding it: what the allocator groups by mobility.',
  buddy_order: 'PageBuddy: the order of the free block it heads.',
  free_list: 'PageBuddy: the migrate type of the free_area list it is on.',
  block: 'the block (first pfn and order) it belongs to: a free, per-CPU or allocated block.',
  pcp_cpu: 'the CPU whose per_cpu_pages list holds it (free, cached for order <= 3 allocations).',
  compound: 'a compound page (__GFP_COMP): the head carries the order, each tail points back to the head.',
  address: 'page_address(): its kernel virtual address: the direct map for lowmem, a pkmap slot if kmapped, else none.',
  slab: 'struct slab overlays struct page: its cache, objects in use, total objects, frozen (a CPU slab), freelist.',
  kmalloc_large: 'the head of a block kmalloc() took straight from the page allocator (size > 8 KiB).',
  kernel_own: 'the head of an allocation that is the kernel\'s own: a page table it allocated or a vmalloc\'d page; only the kernel frees it.',
};

function describe(f) {
  const rows = Object.entries(f).map(([k, v]) => {
    const val = v === null ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return h('tr', null, h('th', null, k), h('td', null, h('code', null, val)), h('td', { class: 'muted' }, EXPLAIN[k] || ''));
  });
  return h('table', { class: 'small frame', id: 'frame-info' }, h('tbody', null, rows));
}

export async function render(machine, api, ctx) {
  const layout = await api.get(api.m(machine, '/layout'));
  const maxPfn = layout.max_pfn, rows = Math.ceil(maxPfn / COLS), high = layout.highstart_pfn;
  const off = document.createElement('canvas');
  off.width = COLS; off.height = rows;
  const og = off.getContext('2d');
  const img = og.createImageData(COLS, rows);
  // 512 rows at most on screen (2 GiB at one pixel a frame); a bigger machine starts fitted
  const view = h('canvas', { width: 1024, height: Math.min(512, Math.max(128, rows)), class: 'memmap', id: 'memmap' });
  const vg = view.getContext('2d');
  const status = h('p', { class: 'muted', id: 'memmap-status' });
  const info = h('div', { id: 'frame-panel' }, h('p', { class: 'muted' }, 'Click a frame to see its struct page.'));
  const fit = Math.min(1, view.height / rows);
  const st = { z: fit, ox: 0, oy: 0 };

  function paint() {
    // keep the map in view: no panning past its last column or row
    st.ox = Math.max(0, Math.min(st.ox, COLS - view.width / st.z));
    st.oy = Math.max(0, Math.min(st.oy, rows - view.height / st.z));
    Object.assign(view.dataset, { z: st.z, ox: st.ox, oy: st.oy });
    vg.imageSmoothingEnabled = false;
    vg.fillStyle = '#fbfbfd';
    vg.fillRect(0, 0, view.width, view.height);
    vg.drawImage(off, st.ox, st.oy, view.width / st.z, view.height / st.z, 0, 0, view.width, view.height);
    if (high < maxPfn) { // the HighMem boundary
      const y = (Math.floor(high / COLS) - st.oy) * st.z;
      vg.strokeStyle = '#000'; vg.setLineDash([6, 4]);
      vg.beginPath(); vg.moveTo(0, y); vg.lineTo(view.width, y); vg.stroke(); vg.setLineDash([]);
    }
  }

  async function load() {
    const t0 = performance.now();
    const bytes = await api.bytes(api.m(machine, `/memmap?start=0&count=${Math.min(maxPfn, 1 << 20)}`));
    let all = bytes;
    for (let s = bytes.length; s < maxPfn; s += 1 << 20) { // beyond 4 GiB: more requests
      const more = await api.bytes(api.m(machine, `/memmap?start=${s}&count=${Math.min(maxPfn - s, 1 << 20)}`));
      const j = new Uint8Array(all.length + more.length); j.set(all); j.set(more, all.length); all = j;
    }
    const t1 = performance.now();
    const d = new Uint32Array(img.data.buffer);
    const perByte = new Uint32Array(256);
    const lo = Math.min(high, all.length);
    for (let i = 0; i < lo; i++) { const b = all[i]; d[i] = PALETTE[b]; perByte[b]++; }
    for (let i = lo; i < all.length; i++) { const b = all[i]; d[i] = PALETTE[256 + b]; perByte[b]++; }
    const counts = new Array(KINDS.length).fill(0);
    perByte.forEach((n, b) => { if (n) counts[b >> 4] += n; });
    og.putImageData(img, 0, 0);
    paint();
    const t2 = performance.now();
    st.bytes = all;
    ctx.perf = { frames: all.length, fetch_ms: +(t1 - t0).toFixed(1), draw_ms: +(t2 - t1).toFixed(1), total_ms: +(t2 - t0).toFixed(1), seq: ctx.seq };
    (ctx.perfLog = ctx.perfLog || []).push(ctx.perf);
    status.textContent = `${num(all.length)} frames drawn (${rows} rows of ${COLS}: 4 MiB a row) · fetch ${ctx.perf.fetch_ms} ms, draw ${ctx.perf.draw_ms} ms · seq ${ctx.seq} · ` +
      KINDS.map((k, i) => counts[i] ? `${k} ${num(counts[i])}` : '').filter(Boolean).join(', ');
    view.dataset.seq = String(ctx.seq);
    view.dataset.frames = String(all.length);
  }

  function pfnAt(e) {
    const r = view.getBoundingClientRect(); // the border box: the canvas is inside the border
    const px = (e.clientX - r.left - view.clientLeft) * (view.width / view.clientWidth);
    const py = (e.clientY - r.top - view.clientTop) * (view.height / view.clientHeight);
    const x = Math.floor(st.ox + px / st.z), y = Math.floor(st.oy + py / st.z);
    const pfn = y * COLS + x;
    return x >= 0 && x < COLS && pfn >= 0 && pfn < maxPfn ? pfn : -1;
  }
  async function open(pfn) {
    const f = await act(() => api.get(api.m(machine, `/frames/${pfn}`)));
    if (!f) return;
    info.replaceChildren(h('h3', null, `struct page of pfn ${num(pfn)} (${hex(pfn)}): ${f.state}`), describe(f));
  }
  function zoom(f, cx = view.width / 2, cy = view.height / 2) {
    const nz = Math.min(32, Math.max(fit, st.z * f));
    st.ox += cx / st.z - cx / nz; st.oy += cy / st.z - cy / nz; st.z = nz;
    paint();
  }
  let drag = null;
  view.addEventListener('mousedown', (e) => { drag = { x: e.clientX, y: e.clientY, ox: st.ox, oy: st.oy, moved: false }; });
  view.addEventListener('mousemove', (e) => {
    const pfn = pfnAt(e);
    if (pfn >= 0 && st.bytes) view.title = `pfn ${pfn}: ${KINDS[st.bytes[pfn] >> 4]}${(st.bytes[pfn] & 15) < 15 ? `, order ${st.bytes[pfn] & 15}` : ''}`;
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    st.ox = drag.ox - dx / st.z; st.oy = drag.oy - dy / st.z;
    paint();
  });
  view.addEventListener('mouseup', (e) => {
    const d = drag; drag = null;
    if (d && !d.moved) { const pfn = pfnAt(e); if (pfn >= 0) open(pfn); }
  });
  view.addEventListener('mouseleave', () => { drag = null; });
  view.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = view.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 1.25 : 0.8, (e.clientX - r.left) * view.width / r.width, (e.clientY - r.top) * view.height / r.height);
  }, { passive: false });
  const goto = h('input', { placeholder: 'pfn', size: 8, id: 'goto-pfn' });
  const el = h('div', { class: 'memmap-view' },
    section('Physical memory map',
      h('p', { class: 'muted' }, `max_pfn ${num(maxPfn)}; HighMem from pfn ${num(high)} (dashed line), lowmem below is the direct map. `,
        'Wheel or buttons zoom, drag pans, click a frame for its struct page.'),
      h('div', { class: 'row' },
        h('button', { onclick: () => zoom(2), id: 'zoom-in' }, 'zoom +'), h('button', { onclick: () => zoom(0.5) }, 'zoom −'),
        h('button', { onclick: () => { st.z = fit; st.ox = 0; st.oy = 0; paint(); } }, 'whole'),
        h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); const p = Number(goto.value); if (p >= 0 && p < maxPfn) { st.z = 16; st.ox = p % COLS - view.width / 32; st.oy = Math.floor(p / COLS) - view.height / 32; paint(); open(p); } } },
          goto, h('button', { type: 'submit' }, 'open pfn'))),
      view, status,
      h('p', { class: 'legend' }, KINDS.map((k, i) => {
        const c = i === 2 ? FREE[3] : KIND_RGB[i];
        return h('span', { class: 'key', style: { borderColor: `rgb(${c.join(',')})` } }, k);
      }), h('span', { class: 'muted' }, ' free blocks: lighter = smaller order; HighMem frames are drawn warmer')),
      info));
  el.reload = load;
  await load();
  return el;
}

export async function update(el) {
  if (el.reload) await el.reload();
}
