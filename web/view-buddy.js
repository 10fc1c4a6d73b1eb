// view-buddy.js - the buddy allocator's free areas: zone->free_area[order].nr_free per
// order, split by migrate type (the free lists of /proc/pagetypeinfo), as a histogram and
// as the kernel's own /proc/buddyinfo and /proc/pagetypeinfo text.
import { h, s, table, section, num } from './ui.js';

export const id = 'buddy';
export const title = 'Buddy';
export const order = 20;

const MT = { Unmovable: '#e41a1c', Movable: '#4daf4a', Reclaimable: '#377eb8', HighAtomic: '#984ea3', Isolate: '#999' };

function histogram(z) {
  const W = 44, H = 120, max = Math.max(1, ...z.free_area);
  const bars = [];
  z.free_area.forEach((_, o) => {
    let y = H;
    for (const [mt, counts] of Object.entries(z.free_area_by_type)) {
      const hgt = counts[o] / max * (H - 10);
      if (hgt > 0) { y -= hgt; bars.push(s('rect', { x: o * W + 4, y, width: W - 8, height: hgt, fill: MT[mt] }, s('title', null, `${mt} order ${o}: ${counts[o]}`))); }
    }
    bars.push(s('text', { x: o * W + W / 2, y: H + 14, 'text-anchor': 'middle', 'font-size': 11 }, String(o)));
    bars.push(s('text', { x: o * W + W / 2, y: Math.max(10, H - z.free_area[o] / max * (H - 10) - 3), 'text-anchor': 'middle', 'font-size': 10 }, String(z.free_area[o])));
  });
  return s('svg', { width: W * 11, height: H + 20, class: 'hist' }, bars);
}

export async function render(machine, api) {
  const [{ zones }, buddyinfo, pagetypeinfo] = await Promise.all([
    api.get(api.m(machine, '/zones')), api.text(api.m(machine, '/proc/buddyinfo')),
    api.text(api.m(machine, '/proc/pagetypeinfo'))]);
  const pop = zones.filter((z) => z.populated);
  return h('div', null,
    section('Free blocks per order (free_area[order].nr_free)',
      h('p', { class: 'muted' }, 'A block of order n is 2^n contiguous pages. Freeing merges a block with its buddy ',
        '(pfn ^ 2^n) while both are free; allocating splits a larger block, the halves going back to the lists.'),
      h('p', { class: 'legend' }, Object.entries(MT).map(([k, c]) => h('span', { class: 'key', style: { borderColor: c } }, k))),
      pop.map((z) => h('div', { class: 'zone' }, h('h3', null, `${z.name} (${num(z.free)} free pages)`), histogram(z),
        table(['migrate type', ...z.free_area.map((_, o) => String(o))],
          Object.entries(z.free_area_by_type).map(([mt, c]) => [mt, ...c.map(num)]), { class: 'small', 'data-zone': z.name })))),
    section('/proc/buddyinfo', h('pre', { id: 'buddyinfo' }, buddyinfo)),
    section('/proc/pagetypeinfo', h('pre', null, pagetypeinfo)));
}
