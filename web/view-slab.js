// view-slab.js - the slab allocator (SLUB, mm/slub.c): every kmem_cache with its geometry
// (object size, the stride, objects and pages per slab, the order calculate_order() chose),
// its slabs (full, partial, per-CPU) and objects in use, and the kernel's /proc/slabinfo.
// This view is the example of "a later mechanism is one small file".
import { h, section, table, num } from './ui.js';

export const id = 'slab';
export const title = 'Slab';
export const order = 35;

export async function render(machine, api) {
  const [{ caches }, slabinfo] = await Promise.all([api.get(api.m(machine, '/slab')),
    api.text(api.m(machine, '/proc/slabinfo'))]);
  const used = caches.filter((c) => c.num_objs > 0);
  const row = (c) => [c.name + (c.aliases.length ? ` (+${c.aliases.length} aliases)` : ''), num(c.object_size), num(c.size),
    c.objperslab, c.pagesperslab, c.order, num(c.active_objs), num(c.num_objs), c.num_slabs, c.nr_partial, c.nr_full, c.nr_cpu_slabs, c.flags];
  const head = ['cache', 'object_size', 'size (stride)', 'objs/slab', 'pages/slab', 'order', 'active', 'objects', 'slabs', 'partial', 'full', 'cpu slabs', 'flags'];
  return h('div', null,
    section(`Caches with slabs (${used.length} of ${caches.length})`,
      h('p', { class: 'muted' }, 'kmalloc(size) takes an object from the cache of its size class (kmalloc-8 .. kmalloc-8k); a slab is 2^order pages ',
        'cut into objects; a CPU allocates from its own slab, then its partial list, then the node\'s partial slabs, then a new slab from the page allocator.'),
      table(head, used.map(row), { class: 'small', id: 'slab-caches' })),
    section('Every cache', h('details', null, h('summary', null, `${caches.length} caches`), table(head, caches.map(row), { class: 'small' }))),
    section('/proc/slabinfo', h('pre', null, slabinfo)));
}
