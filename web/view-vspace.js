// view-vspace.js - the kernel's 4 GiB virtual address space to scale (arch/x86/include/asm/
// pgtable_32_areas.h, page_32_types.h, fixmap.h): user space below PAGE_OFFSET, the direct
// map up to high_memory, the VMALLOC_OFFSET gap, vmalloc with its live areas, pkmap with
// its LAST_PKMAP slots, the cpu_entry_area and the fixmap with each CPU's kmap_local stack.
import { h, s, section, table, hex, num, mib } from './ui.js';

export const id = 'vspace';
export const title = 'Virtual space';
export const order = 40;

const P = (x) => parseInt(x, 16);
const G4 = 2 ** 32;

export async function render(machine, api) {
  const [L, vm, km, cpus] = await Promise.all([api.get(api.m(machine, '/layout')), api.get(api.m(machine, '/vmalloc')),
    api.get(api.m(machine, '/kmap')), api.get(api.m(machine, '/cpus'))]);
  const locals = await Promise.all(cpus.cpus.map((c) => api.get(api.m(machine, `/cpus/${c.cpu}/kmap-local`))));
  const pkEnd = P(L.PKMAP_BASE) + L.LAST_PKMAP * 4096;
  const regions = [
    ['user space', 0, P(L.PAGE_OFFSET), '#ddd'],
    ['direct map (lowmem)', P(L.PAGE_OFFSET), P(L.high_memory), '#6baed6'],
    ['VMALLOC_OFFSET gap', P(L.high_memory), P(L.VMALLOC_START), '#fff'],
    ['vmalloc', P(L.VMALLOC_START), P(L.VMALLOC_END), '#74c476'],
    ['pkmap', P(L.PKMAP_BASE), pkEnd, '#e7298a'],
    ['LDT remap', P(L.LDT_BASE_ADDR), P(L.CPU_ENTRY_AREA_BASE), '#bcbddc'],
    ['cpu_entry_area', P(L.CPU_ENTRY_AREA_BASE), P(L.CPU_ENTRY_AREA_BASE) + L.CPU_ENTRY_AREA_PAGES * 4096, '#fdae6b'],
    ['fixmap', P(L.FIXADDR_START), P(L.FIXADDR_TOP) + 4096, '#fd8d3c'],
  ];
  const W = 900;
  const X = (a) => a / G4 * W;
  const scale = s('svg', { width: W + 10, height: 70, class: 'vspace', id: 'vspace' },
    regions.map(([n, a, b, c]) => s('rect', { x: X(a), y: 10, width: Math.max(1, X(b) - X(a)), height: 30, fill: c, stroke: '#555', 'stroke-width': 0.3 }, s('title', null, `${n}: ${hex(a)}-${hex(b)} (${mib(b - a)})`))),
    [0, 1, 2, 3].map((g) => s('text', { x: X(g * 2 ** 30) + 2, y: 55, 'font-size': 10 }, `${g} GiB`)),
    s('text', { x: X(P(L.PAGE_OFFSET)) + 2, y: 66, 'font-size': 10 }, `PAGE_OFFSET ${L.PAGE_OFFSET}`));
  // a region of the space at its own scale: the regions in it, and marks (live areas)
  const strip = (lo, hi, marks) => {
    const XS = (x) => (Math.min(Math.max(x, lo), hi) - lo) / (hi - lo) * W;
    const inside = regions.filter(([, a, b]) => b > lo && a < hi);
    return s('svg', { width: W + 10, height: 34 + inside.length * 11, class: 'vspace' },
      inside.map(([n, a, b, c], i) => [
        s('rect', { x: XS(a), y: 4, width: Math.max(1, XS(b) - XS(a)), height: 24, fill: c, stroke: '#555', 'stroke-width': 0.3 }, s('title', null, `${n}: ${hex(a)}-${hex(b)}`)),
        s('text', { x: Math.min(XS(a) + 1, W - 120), y: 40 + i * 11, 'font-size': 10 }, `${n} ${hex(a)}`)]),
      (marks || []).map(([a, b, kernel, t]) => s('rect', { x: XS(a), y: 8, width: Math.max(0.8, XS(b) - XS(a)), height: 16, fill: kernel ? '#006d2c' : '#a50f15' }, s('title', null, t))));
  };
  const vmRange = strip(P(L.VMALLOC_START), P(L.VMALLOC_END),
    vm.busy.map((a) => [P(a.va_start), P(a.va_end), a.kernel, `${a.va_start}-${a.va_end} ${a.caller || ''} ${(a.flags || []).join('|')}`]));
  const top = strip(P(L.PKMAP_BASE), G4);
  const slots = h('div', { class: 'slots', id: 'pkmap-slots' }, km.slots.map((x) => h('span', {
    class: x.count === 0 ? 'slot' : x.count === 1 ? 'slot stale' : 'slot used', title: `slot ${x.slot} ${x.address}: count ${x.count}${x.pfn !== null ? `, pfn ${x.pfn}` : ''}`,
  })));
  return h('div', null,
    section('4 GiB to scale', h('p', { class: 'muted' }, `PAGE_OFFSET ${L.PAGE_OFFSET} · high_memory ${L.high_memory} · VMALLOC ${L.VMALLOC_START}-${L.VMALLOC_END} · PKMAP_BASE ${L.PKMAP_BASE} · FIXADDR_START ${L.FIXADDR_START}`), scale,
      h('h3', null, `vmalloc, ${L.VMALLOC_START}-${L.VMALLOC_END}: the live areas (dark green: the boot's, red: yours)`), vmRange,
      h('h3', null, `The top ${mib(G4 - P(L.PKMAP_BASE))} from PKMAP_BASE: pkmap, the LDT remap, the cpu_entry_area, the fixmap`), top,
      table(['region', 'start', 'end', 'size'], regions.map(([n, a, b]) => [n, hex(a), hex(b), mib(b - a)]), { class: 'small' })),
    section(`vmalloc: ${vm.busy.length} live areas, ${num(vm.vmalloc_used_pages)} pages, ${vm.vmap_lazy_nr} lazily freed`,
      table(['start', 'end', 'size', 'pages', 'caller', 'flags'], vm.busy.map((a) => [a.va_start, a.va_end, num(a.size), a.nr_pages, a.caller || '', (a.flags || []).join('|')]), { class: 'small', id: 'vmalloc-areas' })),
    section(`pkmap: ${km.last_pkmap} slots from ${km.pkmap_base} (in use ${km.in_use}, last_pkmap_nr ${km.last_pkmap_nr}, flushes ${km.flushes})`,
      h('p', { class: 'muted' }, 'pkmap_count per slot: grey 0 free, yellow 1 unmapped but not yet flushed (freed at the next wrap, flush_all_zero_pkmaps()), red 2+ mapped.'), slots),
    section('fixmap: kmap_local stacks per CPU (FIX_KMAP_BEGIN + KM_MAX_IDX × cpu + idx)',
      table(['cpu', 'depth', 'atomic depth', 'stack (idx → address: pfn)'], locals.map((x) => [x.cpu, x.depth, x.atomic_depth,
        x.stack.map((e) => `${e.idx} → ${e.address}: ${e.pfn}${e.atomic ? ' (atomic)' : ''}`).join('; ') || '—']), { class: 'small', id: 'kmap-local' })));
}
