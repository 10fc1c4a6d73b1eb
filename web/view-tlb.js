// view-tlb.js - each CPU's TLB: CR0/CR3/CR4, its capacity (4 KiB and large-page entries),
// counters, and the entries it holds (what __flush_tlb_one_kernel()/invlpg drop and a CR3
// write flushes, global entries excepted).
import { h, section, table, num, act } from './ui.js';

export const id = 'tlb';
export const title = 'TLBs';
export const order = 50;

export async function render(machine, api, ctx) {
  const { cpus } = await api.get(api.m(machine, '/cpus'));
  const tlbs = await Promise.all(cpus.map((c) => api.get(api.m(machine, `/cpus/${c.cpu}/tlb`))));
  return h('div', { id: 'tlbs' }, tlbs.map((t) => section(`CPU ${t.cpu}`,
    h('p', { class: 'muted' }, `CR3 ${t.cr3} · CR0.PG ${t.cr0.pg} WP ${t.cr0.wp} · CR4.PSE ${t.cr4.pse} PAE ${t.cr4.pae} PGE ${t.cr4.pge} · EFER.NXE ${t.efer.nxe} · `,
      `capacity ${t.capacity.small} small + ${t.capacity.large} large`),
    h('p', null, Object.entries(t.counters).map(([k, v]) => `${k} ${num(v)}`).join(' · ')),
    h('div', { class: 'row' },
      h('button', { onclick: () => act(() => api.post(api.m(machine, `/cpus/${t.cpu}/tlb/flush?keep_global=true`)), 'flushed (globals kept)').then(ctx.refresh) }, 'flush (keep global)'),
      h('button', { onclick: () => act(() => api.post(api.m(machine, `/cpus/${t.cpu}/tlb/flush`)), 'flushed').then(ctx.refresh) }, 'flush all')),
    t.entries.length ? table(Object.keys(t.entries[0]), t.entries.map((e) => Object.values(e).map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)))), { class: 'small' })
      : h('p', { class: 'muted' }, 'empty: a kernel read through /memory (space=kernel) fills it'))));
}
