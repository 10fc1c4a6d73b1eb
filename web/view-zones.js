// view-zones.js - the zones (struct zone): free pages against the watermarks min/low/high
// that __setup_per_zone_wmarks() derives from min_free_kbytes and watermark_scale_factor,
// the lowmem_reserve protection, managed/present/spanned pages, and a chart of each zone's
// free pages over the session's seq (sampled as commands arrive).
import { h, s, table, section, num, kib, lineChart } from './ui.js';

export const id = 'zones';
export const title = 'Zones';
export const order = 10;

const COLORS = { DMA: '#e6550d', Normal: '#3182bd', HighMem: '#31a354', Movable: '#756bb1' };
const history = new Map(); // machine -> [{seq, free: {zone: n}}]

// the zone's free pages on a scale that shows the watermarks: 0 .. 2 x high (a zone with more
// free pages than that fills the bar, its count is in the title)
function bar(z) {
  const w = 560, top = Math.max(z.watermarks.high * 2, 1);
  const X = (v) => Math.min(w, v / top * w);
  const mark = (v, name, color, dy) => [
    s('line', { x1: X(v), x2: X(v), y1: 0, y2: 30 + dy, stroke: color, 'stroke-width': 2 }),
    s('text', { x: X(v) + 3, y: 30 + dy, 'font-size': 11, fill: color }, `${name} ${num(v)}`)];
  return s('svg', { width: w + 90, height: 64, class: 'wmark', 'data-zone': z.name },
    s('rect', { x: 0, y: 4, width: w, height: 20, fill: '#eee' }),
    s('rect', { x: 0, y: 4, width: X(z.free), height: 20, fill: COLORS[z.name] || '#888' }),
    z.free > top ? s('text', { x: w + 4, y: 19, 'font-size': 12 }, `» ${num(z.free)}`) : null,
    mark(z.watermarks.min, 'min', '#d62728', 8), mark(z.watermarks.low, 'low', '#ff7f0e', 20),
    mark(z.watermarks.high, 'high', '#2ca02c', 32));
}

function sample(machine, seq, zones) {
  const hs = history.get(machine) || [];
  if (!hs.length || hs[hs.length - 1].seq !== seq) {
    hs.push({ seq, free: Object.fromEntries(zones.map((z) => [z.name, z.free])) });
    if (hs.length > 2000) hs.shift();
  }
  history.set(machine, hs);
  return hs;
}

export async function render(machine, api, ctx) {
  const { zones, totals } = await api.get(api.m(machine, '/zones'));
  const pop = zones.filter((z) => z.populated);
  const hs = sample(machine, ctx.seq, pop);
  const series = pop.map((z) => ({ name: z.name, color: COLORS[z.name], points: hs.map((p) => [p.seq, p.free[z.name] ?? 0]) }));
  return h('div', null,
    section('Free pages against the watermarks (the bar spans 0 to twice the high mark)',
      h('p', { class: 'muted' }, `min_free_kbytes ${totals.min_free_kbytes}, watermark_scale_factor ${totals.watermark_scale_factor}, `,
        `lowmem_reserve_ratio [${totals.lowmem_reserve_ratio.join(', ')}]. An allocation below the `,
        'low mark wakes kswapd; below min only __GFP_HIGH/atomic callers may dig deeper.'),
      pop.map((z) => h('div', { class: 'zone' }, h('h3', null, `${z.name}: ${num(z.free)} free (${kib(z.free)})`), bar(z)))),
    section('Zone counters', table(['zone', 'start_pfn', 'spanned', 'present', 'managed', 'free', 'min', 'low', 'high', 'protection[]', 'pcp count/high/batch'],
      pop.map((z) => [z.name, num(z.start_pfn), num(z.spanned), num(z.present), num(z.managed), num(z.free),
        num(z.watermarks.min), num(z.watermarks.low), num(z.watermarks.high), `[${z.protection.join(', ')}]`,
        z.pagesets.map((p) => `cpu${p.cpu}: ${p.count}/${p.high}/${p.batch}`).join(' ')]), { id: 'zones' }),
    h('p', { class: 'muted' }, 'spanned: pfns from the zone\'s first to its last; present: those that are RAM; managed: present minus ',
      'what memblock reserved (the buddy allocator\'s share). protection[i]: the free pages this zone keeps back from an allocation whose highest zone is i (lowmem_reserve).')),
    section('Free pages over the session',
      h('div', { class: 'row' }, pop.map((z, i) => h('div', null, h('h3', null, z.name),
        lineChart([series[i]], { width: 420, height: 160, hlines: [
          { name: 'min', y: z.watermarks.min, color: '#d62728' }, { name: 'low', y: z.watermarks.low, color: '#ff7f0e' },
          { name: 'high', y: z.watermarks.high, color: '#2ca02c' }] })))),
      h('p', { class: 'muted' }, 'One sample per change seen live (each journaled command moves the seq), since this page was opened.')));
}
