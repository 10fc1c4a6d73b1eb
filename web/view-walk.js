// view-walk.js - the page walk of a virtual address (GET /translate): each level's table,
// index, entry address and raw entry with its flags decoded, the effective permissions and
// the physical address, or the fault and the kernel's oops lines. Pure: no TLB fill.
import { h, section, table, act } from './ui.js';

export const id = 'walk';
export const title = 'Page walk';
export const order = 60;
export const live = false;

const FLAG_WORDS = {
  present: 'P: the entry maps something', rw: 'R/W: writable', user: 'U/S: user may access',
  pwt: 'write-through', pcd: 'cache disabled', accessed: 'A: set by the CPU on use', dirty: 'D: written (leaf)',
  pse: 'PS: a large page (4 MiB, or 2 MiB with PAE)', pat: 'PAT bit', global: 'G: kept across CR3 writes', nx: 'NX: no execute (PAE)',
};

function level(l) {
  const flags = Object.entries(l.flags || {});
  return [l.level, l.table, String(l.index), l.entry_addr, h('code', null, l.raw),
    h('span', null, flags.map(([k, v]) => h('span', { class: v ? 'flag on' : 'flag', title: FLAG_WORDS[k] || k }, k)))];
}

export async function render(machine, api, ctx) {
  const va = h('input', { id: 'va', value: ctx.walkVa || '0xc1000000', size: 12 });
  const access = h('select', { id: 'access' }, ['read', 'write', 'exec'].map((a) => h('option', { value: a }, a)));
  const out = h('div', { id: 'walk-result' });
  const run = async () => {
    ctx.walkVa = va.value;
    const t = await act(() => api.get(api.m(machine, `/translate?va=${encodeURIComponent(va.value.trim())}&access=${access.value}`)));
    if (!t) return;
    out.replaceChildren(
      table(['level', 'table', 'index', 'entry address', 'raw entry', 'flags'], t.levels.map(level), { class: 'walk' }),
      t.ok ? h('p', { class: 'ok' }, `→ physical ${t.phys} (page size ${t.page_size / 1024} KiB); effective: `,
        Object.entries(t.effective || {}).filter(([, v]) => v).map(([k]) => k).join(', ') || 'none')
        : h('div', null, h('p', { class: 'error' }, `page fault, error_code ${t.fault ? t.fault.error_code : '?'}`),
          h('pre', null, t.fault ? t.fault.oops : '')));
  };
  const form = h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); run(); } },
    h('label', { class: 'field' }, h('span', null, 'virtual address'), va), h('label', { class: 'field' }, h('span', null, 'access'), access),
    h('button', { type: 'submit', id: 'walk-go' }, 'walk'));
  const pt = h('details', null, h('summary', null, 'the kernel half of the page tables (as the kernel\'s ptdump shows it)'), h('pre', { id: 'ptdump' }));
  pt.addEventListener('toggle', async () => {
    if (pt.open) pt.lastChild.textContent = await api.text(api.m(machine, '/page-tables/kernel'));
  });
  return h('div', null, section('Walk an address through the page tables',
    h('p', { class: 'muted' }, '686: two levels (pgd → pte, 4 MiB large pages); 686-pae: three (pgd → pmd → pte, 2 MiB large pages, NX). ',
      'Try the direct map (0xc0000000 + phys), a vmalloc address, a kmap address, or user space (0x08048000: not mapped).'),
    form, out), section('Page tables', pt));
}
