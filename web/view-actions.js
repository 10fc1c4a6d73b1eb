// view-actions.js - change the machine, every action a command through the one path
// (HTTP -> command -> executor -> mmcore -> journal): alloc_pages/free_pages with the GFP
// flags the kernel names, kmap/kunmap, vmalloc/vfree, kmalloc/kfree, kvmalloc/kvfree,
// sysctls, snapshots.
import { h, section, field, act, table } from './ui.js';

export const id = 'actions';
export const title = 'Actions';
export const order = 70;
export const live = false;

const GFP = ['GFP_KERNEL', 'GFP_ATOMIC', 'GFP_NOWAIT', 'GFP_NOIO', 'GFP_NOFS', 'GFP_USER', 'GFP_DMA',
  'GFP_HIGHUSER', 'GFP_HIGHUSER_MOVABLE', 'GFP_KERNEL_ACCOUNT', 'GFP_TRANSHUGE_LIGHT', 'GFP_TRANSHUGE'];
const MODIFIERS = ['__GFP_ZERO', '__GFP_COMP', '__GFP_NOWARN', '__GFP_HIGH', '__GFP_NORETRY', '__GFP_RETRY_MAYFAIL', '__GFP_NOFAIL', '__GFP_MEMALLOC', '__GFP_NOMEMALLOC'];
const SYSCTLS = ['min_free_kbytes', 'watermark_scale_factor', 'watermark_boost_factor', 'lowmem_reserve_ratio', 'percpu_pagelist_high_fraction'];
const held = new Map(); // machine -> [{kind, key, what}]

const sel = (name, opts, value) => h('select', { name }, opts.map((o) => h('option', { value: o, selected: o === value }, o)));
const int = (name, value, attrs) => h('input', Object.assign({ name, type: 'number', value, min: 0 }, attrs || {}));
const text = (name, value, size) => h('input', { name, value, size: size || 10 });

export async function render(machine, api, ctx) {
  const log = h('ol', { id: 'action-log', class: 'log' });
  const mine = held.get(machine) || [];
  held.set(machine, mine);
  const heldEl = h('div', { id: 'held' });
  const note = (msg, r) => log.prepend(h('li', null, h('b', null, msg), ' ', h('code', null, JSON.stringify(r))));
  const drawHeld = () => heldEl.replaceChildren(mine.length ? table(['what', ''], mine.map((x, i) => [x.what,
    h('button', { onclick: async () => { if (await x.undo()) { mine.splice(i, 1); drawHeld(); } } }, x.undoLabel)]), { class: 'small' })
    : h('p', { class: 'muted' }, 'Nothing held.'));
  const run = async (label, fn, keep) => {
    const r = await act(fn, label);
    if (r !== undefined) { note(label, r); if (keep) { [].concat(keep(r)).forEach((k) => mine.push(k)); drawHeld(); } }
    return r;
  };
  const undo = (label, fn) => async () => (await run(label, fn)) !== undefined;

  // alloc_pages / free_pages
  const gfp = sel('gfp', GFP, 'GFP_KERNEL');
  const mods = MODIFIERS.map((x) => h('label', { class: 'chk' }, h('input', { type: 'checkbox', value: x }), x));
  const aorder = int('order', 0, { max: 10 }), acpu = int('cpu', 0), count = int('count', 1, { min: 1, max: 10000 });
  const mask = () => [gfp.value, ...mods.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value)].join('|');
  const pagesKeep = (rs) => rs.map((r) => ({ what: `pfn ${r.pfn} order ${r.order} (${r.zone}, ${r.migratetype})`, undoLabel: 'free_pages',
    undo: undo(`free_pages ${r.pfn}`, () => api.del(api.m(machine, `/pages/${r.pfn}?order=${r.order}`))) }));
  const alloc = h('form', { id: 'alloc', class: 'row', onsubmit: (e) => {
    e.preventDefault();
    const n = Number(count.value), cmd = { op: 'alloc_pages', gfp: mask(), order: Number(aorder.value), cpu: Number(acpu.value) };
    if (n === 1) run(`alloc_pages(${cmd.gfp}, ${cmd.order})`, async () => (await api.command(machine, cmd)).result, (r) => pagesKeep([r]));
    else run(`${n} × alloc_pages(${cmd.gfp}, ${cmd.order})`, async () => (await api.command(machine, Array(n).fill(cmd))).results.map((x) => x.result), pagesKeep);
  } }, field('gfp', gfp), field('order', aorder), field('cpu', acpu), field('how many', count), h('button', { type: 'submit' }, 'alloc_pages'));
  const fpfn = int('pfn', ''), forder = int('order', 0, { max: 10 });
  const free = h('form', { id: 'free', class: 'row', onsubmit: (e) => { e.preventDefault(); run(`free_pages(${fpfn.value}, ${forder.value})`, () => api.del(api.m(machine, `/pages/${fpfn.value}?order=${forder.value}`))); } },
    field('pfn', fpfn), field('order', forder), h('button', { type: 'submit' }, 'free_pages'));

  // kmap / kunmap, kmap_local
  const kpfn = int('pfn', ''), kcpu = int('cpu', 0);
  const kmap = h('form', { id: 'kmap', class: 'row', onsubmit: (e) => { e.preventDefault();
    run(`kmap(pfn ${kpfn.value})`, () => api.post(api.m(machine, '/kmap?timeout=5'), { pfn: Number(kpfn.value), cpu: Number(kcpu.value) }),
      (r) => ({ what: `kmap pfn ${r.pfn} at ${r.address} (slot ${r.slot})`, undoLabel: 'kunmap', undo: undo(`kunmap ${r.pfn}`, () => api.del(api.m(machine, `/kmap/${r.pfn}`))) }));
  } }, field('pfn (HighMem, allocated)', kpfn), field('cpu', kcpu), h('button', { type: 'submit' }, 'kmap'),
  h('button', { type: 'button', onclick: () => run(`kmap_local_page(pfn ${kpfn.value})`, () => api.post(api.m(machine, `/cpus/${kcpu.value}/kmap-local`), { pfn: Number(kpfn.value) }),
    (r) => ({ what: `kmap_local pfn ${r.pfn} at ${r.address} on cpu ${r.cpu}`, undoLabel: 'kunmap_local', undo: undo(`kunmap_local ${r.address}`, () => api.del(api.m(machine, `/cpus/${r.cpu}/kmap-local/${r.address}`))) })) }, 'kmap_local_page'));

  // vmalloc / vfree, kmalloc / kfree
  const vsize = text('size', '8192');
  const vmalloc = h('form', { id: 'vmalloc', class: 'row', onsubmit: (e) => { e.preventDefault();
    run(`vmalloc(${vsize.value})`, () => api.post(api.m(machine, '/vmalloc'), { size: Number(vsize.value) }),
      (r) => ({ what: `vmalloc ${r.address} (${r.size} bytes, pfns ${r.pages.join(',')})`, undoLabel: 'vfree', undo: undo(`vfree ${r.address}`, () => api.del(api.m(machine, `/vmalloc/${r.address}`))) }));
  } }, field('size (bytes)', vsize), h('button', { type: 'submit' }, 'vmalloc'));
  const ksize = text('size', '100'), kgfp = sel('gfp', GFP, 'GFP_KERNEL');
  const kmalloc = h('form', { id: 'kmalloc', class: 'row', onsubmit: (e) => { e.preventDefault();
    run(`kmalloc(${ksize.value})`, () => api.post(api.m(machine, '/kmalloc'), { size: Number(ksize.value), gfp: kgfp.value }),
      (r) => ({ what: `kmalloc ${r.address} (${r.cache || 'large'}, ksize ${r.ksize})`, undoLabel: 'kfree', undo: undo(`kfree ${r.address}`, () => api.del(api.m(machine, `/kmalloc/${r.address}`))) }));
  } }, field('size (bytes)', ksize), field('gfp', kgfp), h('button', { type: 'submit' }, 'kmalloc'));

  // kvmalloc / kvfree: kmalloc, or vmalloc when that fails (mm/util.c)
  const kvsize = text('size', '100000'), kvgfp = sel('gfp', GFP, 'GFP_KERNEL');
  const kvmalloc = h('form', { id: 'kvmalloc', class: 'row', onsubmit: (e) => { e.preventDefault();
    run(`kvmalloc(${kvsize.value})`, () => api.post(api.m(machine, '/kvmalloc'), { size: Number(kvsize.value), gfp: kvgfp.value }),
      (r) => ({ what: `kvmalloc ${r.address} (${r.kind}, ${r.size} bytes)`, undoLabel: 'kvfree', undo: undo(`kvfree ${r.address}`, () => api.del(api.m(machine, `/kvmalloc/${r.address}`))) }));
  } }, field('size (bytes)', kvsize), field('gfp', kvgfp), h('button', { type: 'submit' }, 'kvmalloc'));

  // sysctls
  const sname = sel('name', SYSCTLS, 'min_free_kbytes'), svalue = text('value', '', 16);
  // the current value, unless the user typed one meanwhile
  let typed = false;
  svalue.addEventListener('input', () => { typed = true; });
  const loadSysctl = async () => {
    typed = false;
    const r = await act(() => api.get(api.m(machine, `/sysctl/vm/${sname.value}`)));
    if (r && !typed) svalue.value = Array.isArray(r.value) ? r.value.join(' ') : r.value;
    svalue.dataset.loaded = sname.value;
  };
  sname.addEventListener('change', loadSysctl);
  const sysctl = h('form', { id: 'sysctl', class: 'row', onsubmit: (e) => { e.preventDefault();
    const v = svalue.value.trim().split(/[\s,]+/).map(Number);
    run(`vm.${sname.value} = ${svalue.value}`, () => api.put(api.m(machine, `/sysctl/vm/${sname.value}`), { value: sname.value === 'lowmem_reserve_ratio' ? v : v[0] }));
  } }, field('vm.', sname), field('value', svalue), h('button', { type: 'submit' }, 'write'));
  loadSysctl();

  // snapshots
  const label = text('label', '', 16);
  const snap = h('form', { id: 'snapshot', class: 'row', onsubmit: (e) => { e.preventDefault();
    run('snapshot', () => api.post(api.m(machine, '/snapshots'), label.value ? { label: label.value } : {}));
  } }, field('label', label), h('button', { type: 'submit' }, 'take a snapshot'));

  drawHeld();
  return h('div', { class: 'actions' },
    section('alloc_pages / free_pages', h('p', { class: 'muted' }, 'GFP flags as the kernel names them: the base picks the zones (HIGHUSER reaches HighMem, DMA the first 16 MiB) and the migrate type (MOVABLE); the modifiers change how hard the allocator tries.'),
      alloc, h('div', { class: 'mods' }, mods), free),
    section('kmap / kmap_local_page', kmap), section('vmalloc', vmalloc), section('kmalloc (SLUB)', kmalloc),
    section('kvmalloc: kmalloc, else vmalloc', kvmalloc),
    section('sysctl vm.*', sysctl), section('snapshots', snap),
    section('What you hold (free it again)', heldEl), section('Results', log));
}
