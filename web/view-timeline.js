// view-timeline.js - the session: the machine's journal (every command that changed it, with
// its seq), paged, snapshot markers, and replay up to a chosen seq into a new machine
// (POST /v1/sessions/{id}/replay {"until_seq"}), or a clone from a snapshot, or a restore.
import { h, section, table, act } from './ui.js';

export const id = 'timeline';
export const title = 'Timeline';
export const order = 80;

const PAGE = 50, FETCH = 1000; // a table page; a journal page (GET /journal?after=&limit=)
const window_ = new Map(); // machine -> the seq the fetched journal page starts after (null: the newest)

export async function render(machine, api, ctx) {
  const want = window_.get(machine);
  const after = want ?? Math.max(0, ctx.seq - FETCH);
  const [j, snaps] = await Promise.all([api.get(api.m(machine, `/journal?after=${after}&limit=${FETCH}`)), api.get(api.m(machine, '/snapshots'))]);
  // a daemon without paging answers the whole journal: keep the page asked for
  const entries = (j.entries || []).filter((e) => e.seq > after).slice(0, FETCH);
  const last = entries.length ? entries[entries.length - 1].seq : 0;
  const bySeq = new Map(snaps.snapshots.map((x) => [x.seq, x]));
  const st = { page: Math.max(0, Math.ceil(entries.length / PAGE) - 1) };
  const body = h('div', { id: 'journal' });
  const bar = h('div', { class: 'timeline', id: 'timeline-bar' });
  const until = h('input', { type: 'number', min: 0, max: last, value: last, id: 'until-seq' });
  const name = h('input', { size: 10, placeholder: 'replay1', id: 'replay-name' });
  const draw = () => {
    const page = entries.slice(st.page * PAGE, (st.page + 1) * PAGE);
    body.replaceChildren(
      h('div', { class: 'row' }, h('button', { disabled: st.page === 0, onclick: () => { st.page--; draw(); } }, '← older'),
        h('span', null, ` page ${st.page + 1} of ${Math.max(1, Math.ceil(entries.length / PAGE))} `),
        h('button', { disabled: (st.page + 1) * PAGE >= entries.length, onclick: () => { st.page++; draw(); } }, 'newer →')),
      table(['seq', 'time', 'command', 'result', ''], page.map((e) => [
        bySeq.has(e.seq) ? h('span', { class: 'snapmark', title: `snapshot ${bySeq.get(e.seq).id}` }, `${e.seq} ◆`) : String(e.seq),
        e.time, h('code', null, JSON.stringify(e.command)), h('code', { class: 'clip' }, JSON.stringify(e.result)),
        h('button', { onclick: () => { until.value = e.seq; } }, 'replay to here')]), { class: 'small' }));
  };
  // one tick per command, a diamond per snapshot, on one line
  bar.replaceChildren(...entries.slice(-400).map((e) => h('span', { class: bySeq.has(e.seq) ? 'tick snap' : 'tick', title: `seq ${e.seq}: ${e.command.op}`, onclick: () => { until.value = e.seq; } })));
  draw();
  const replay = h('form', { class: 'row', id: 'replay', onsubmit: async (e) => {
    e.preventDefault();
    const body2 = { until_seq: Number(until.value) };
    if (name.value.trim()) body2.name = name.value.trim();
    const r = await act(() => api.post(`/v1/sessions/${encodeURIComponent(machine)}/replay`, body2), (x) => `replayed ${x.replayed} commands into ${x.machine}`);
    if (r) { await ctx.refreshMachines(); ctx.go('timeline', r.machine); }
  } }, h('label', { class: 'field' }, h('span', null, 'until seq'), until), h('label', { class: 'field' }, h('span', null, 'new machine'), name),
  h('button', { type: 'submit' }, 'replay into a new machine'));
  const first = entries.length ? entries[0].seq : after;
  const pager = h('div', { class: 'row' },
    h('button', { disabled: after === 0, onclick: () => { window_.set(machine, Math.max(0, after - FETCH)); ctx.refresh(); } }, `older ${FETCH}`),
    h('button', { disabled: want === undefined, onclick: () => { window_.delete(machine); ctx.refresh(); } }, 'newest'),
    h('span', { class: 'muted' }, entries.length ? ` seq ${first}..${last} of ${ctx.seq || last}` : ' no command yet'));
  return h('div', null,
    section(`Journal of ${machine}`, pager, bar, body),
    section('Replay', h('p', { class: 'muted' }, 'A new machine boots with the same configuration and runs the journal up to the seq, every result compared with the journaled one.'), replay),
    section('Snapshots', snaps.snapshots.length ? table(['id', 'seq', 'label', 'taken', 'frames', ''], snaps.snapshots.map((x) => [x.id, x.seq, x.label || '', x.created_at, x.frames,
      h('span', null,
        h('button', { onclick: () => act(() => api.post(api.m(machine, `/snapshots/${x.id}/restore`)), `restored snapshot ${x.id}`).then(ctx.refresh) }, 'restore'),
        h('button', { onclick: async () => { const r = await act(() => api.post('/v1/machines', { from_snapshot: x.id }), (m2) => `cloned into ${m2.id}`); if (r) { await ctx.refreshMachines(); ctx.go('zones', r.id); } } }, 'clone'))]), { class: 'small' })
      : h('p', { class: 'muted' }, 'No snapshot yet (Actions → take a snapshot).')));
}
