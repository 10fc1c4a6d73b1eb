// view-machines.js - the machines: each with its configuration and summary, a form that
// creates one (POST /v1/machines: mem, pae, cpus, cmdline, as `mem=`, `686-pae` and the
// kernel command line would set them), and delete.
import { h, table, section, field, act, mib, num } from './ui.js';

export const id = 'machines';
export const title = 'Machines';
export const order = 0;
export const global = true;

// the summary GET /v1/machines gives each machine (seq, MemTotal/MemFree, each zone's free
// pages against its watermarks): the first screen in one request
function summary(x) {
  const parts = [];
  if (x.seq !== undefined) parts.push(`seq ${x.seq}`);
  if (x.mem_total_kb !== undefined) parts.push(`MemFree ${num(x.mem_free_kb)} of ${num(x.mem_total_kb)} kB`);
  for (const z of x.zones || []) parts.push(`${z.name} ${num(z.free)} free${z.free < z.low ? ' (below low)' : ''}`);
  return parts.join(' · ') || `phase ${x.phase}`;
}

export async function render(machine, api, ctx) {
  const list = (await api.get('/v1/machines')).machines;
  const rows = list.map((x) => [
    h('a', { href: `#/zones/${encodeURIComponent(x.id)}`, class: 'mid' }, x.id),
    mib(x.config.mem), x.config.pae ? '686-pae' : '686', x.config.cpus,
    h('code', null, x.config.cmdline || '—'), summary(x) + (x.tainted ? ' · tainted' : ''),
    h('button', {
      class: 'danger', 'data-delete': x.id,
      onclick: async () => {
        if (!confirm(`Delete machine ${x.id} and its journal?`)) return;
        await act(() => api.del(api.m(x.id)), `${x.id} deleted`);
        ctx.refreshMachines();
        ctx.refresh();
      },
    }, 'delete'),
  ]);
  const name = h('input', { name: 'name', placeholder: 'm1', size: 10 });
  const mem = h('input', { name: 'mem', value: '1G', size: 6 });
  const pae = h('input', { name: 'pae', type: 'checkbox' });
  const cpus = h('input', { name: 'cpus', type: 'number', min: 1, max: 32, value: 1 });
  const cmdline = h('input', { name: 'cmdline', placeholder: 'vmalloc=256M', size: 24 });
  const form = h('form', {
    class: 'row', id: 'create',
    onsubmit: async (e) => {
      e.preventDefault();
      const body = { mem: mem.value.trim(), pae: pae.checked, cpus: Number(cpus.value) };
      if (name.value.trim()) body.name = name.value.trim();
      if (cmdline.value.trim()) body.cmdline = cmdline.value.trim();
      const r = await act(() => api.post('/v1/machines', body), (x) => `machine ${x.id} booted`);
      if (r) ctx.go('zones', r.id);
    },
  }, field('name', name), field('mem', mem), field('PAE (686-pae)', pae), field('cpus', cpus),
  field('cmdline', cmdline), h('button', { type: 'submit' }, 'create'));
  return h('div', null,
    section('Machines', list.length ? table(['id', 'RAM', 'kernel', 'CPUs', 'cmdline', 'summary', ''], rows, { id: 'machines' })
      : h('p', { class: 'muted' }, 'No machine yet.')),
    section('Create a machine', h('p', { class: 'muted' },
      'It boots as the kernel does: e820, memblock, paging, zones and the buddy allocator.'), form));
}
