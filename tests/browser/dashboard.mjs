// dashboard.mjs - the dashboard in a real browser: playwright-core drives Debian's chromium
// (headless) against the mm32d that test_browser.py started.
//
// Usage: node dashboard.mjs BASE_URL SCREENSHOT_DIR CHROMIUM [BIG_MACHINE]
// Steps: load the page; create a machine through the form; allocate pages through the UI and
// see /proc/buddyinfo and the memory map change; open a frame; walk an address; follow live
// updates sent by another client (curl); every other view renders; no console errors; the
// memory map of a 4 GiB machine: frames drawn, time to draw, time to update after a batch of
// 1000 allocations (printed as PERF lines). Live updates must come by Server-Sent Events.
// Screenshots go to SCREENSHOT_DIR.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';

const [base, shots, exe, big] = process.argv.slice(2);
const errors = [];
const browser = await chromium.launch({ executablePath: exe, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()} (${m.location().url})`); });
page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
// a view's 4xx answer is shown to the user, not an error of the page; but nothing may fail
page.on('response', (r) => { if (r.status() >= 500) errors.push(`HTTP ${r.status()} ${r.url()}`); });
const step = (s) => console.log(`# ${s}`);
// page.waitForFunction() of the playwright-core that runs on Debian 12's Node.js 18 compiles
// its predicate with eval inside the page, which the page's CSP (script-src 'self') refuses:
// poll with page.evaluate() instead (a DevTools call, outside the page's CSP).
const waitFor = async (fn, arg, { timeout = 30000 } = {}) => {
  const t0 = Date.now();
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() - t0 > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${fn}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
const shot = async (name) => { await page.evaluate(() => window.scrollTo(0, 0)); await page.screenshot({ path: `${shots}/${name}.png` }); };
const curl = (...args) => execFileSync('curl', ['-sS', '--fail-with-body', ...args], { encoding: 'utf-8' });
const text = async (sel) => (await page.locator(sel).first().textContent()) || '';

step('the page loads, with every view in the navigation');
await page.goto(`${base}/`);
await page.waitForSelector('nav a[data-view="memmap"]');
for (const v of ['machines', 'zones', 'buddy', 'memmap', 'slab', 'vspace', 'tlb', 'walk', 'actions', 'timeline'])
  assert.equal(await page.locator(`nav a[data-view="${v}"]`).count(), 1, `view ${v} in the navigation`);

step('create a machine with the configuration form');
await page.fill('#create input[name=name]', 'web1');
await page.fill('#create input[name=mem]', '1G');
await page.fill('#create input[name=cpus]', '2');
await page.fill('#create input[name=cmdline]', 'vmalloc=64M');
await page.click('#create button[type=submit]');
await page.waitForURL(/#\/zones\/web1/);
await page.waitForSelector('svg.wmark');
const made = JSON.parse(curl(`${base}/v1/machines/web1`));
assert.equal(made.config.mem, 1 << 30);
assert.equal(made.config.cpus, 2);
assert.equal(made.config.cmdline, 'vmalloc=64M');
await page.click('nav a[data-view="machines"]');
await page.waitForSelector('#machines a.mid');
assert.match(await text('#machines'), /web1/);
await shot('machines');

step('allocate pages through the UI: buddyinfo and the memory map change');
await page.goto(`${base}/#/buddy/web1`);
await page.waitForSelector('#buddyinfo');
const buddyBefore = await text('#buddyinfo');
await page.goto(`${base}/#/memmap/web1`);
await page.waitForSelector('#memmap[data-frames]');
const mapBefore = await page.evaluate(() => ({ ...window.mm32.perf, status: document.getElementById('memmap-status').textContent }));
await page.goto(`${base}/#/actions/web1`);
await page.waitForSelector('#alloc');
await page.selectOption('#alloc select[name=gfp]', 'GFP_KERNEL');
await page.fill('#alloc input[name=order]', '3');
await page.fill('#alloc input[name=count]', '5');
await page.click('#alloc button[type=submit]');
await waitFor(() => document.querySelectorAll('#held tr').length >= 6);
const allocs = JSON.parse(curl(`${base}/v1/machines/web1/journal`)).entries.filter((e) => e.command.op === 'alloc_pages');
assert.equal(allocs.length, 5, 'five alloc_pages journaled');
await page.goto(`${base}/#/buddy/web1`);
await page.waitForSelector('#buddyinfo');
const buddyAfter = await text('#buddyinfo');
assert.notEqual(buddyAfter, buddyBefore, '/proc/buddyinfo changed');
assert.equal(buddyAfter, curl(`${base}/v1/machines/web1/proc/buddyinfo`), 'the page shows the kernel\'s text');
await shot('buddy');
await page.goto(`${base}/#/memmap/web1`);
await page.waitForSelector('#memmap[data-frames]');
const mapAfter = await page.evaluate(() => document.getElementById('memmap-status').textContent);
assert.notEqual(mapAfter, mapBefore.status, 'the memory map changed');
const allocated = (t) => Number((t.match(/allocated ([\d,]+)/) || [0, '0'])[1].replace(/,/g, ''));
assert.equal(allocated(mapAfter) - allocated(mapBefore.status), 40, 'the 5 blocks of 8 pages are drawn as allocated');

step('open a frame: a click on the map');
const pfn = allocs[0].result.pfn;
await page.fill('#goto-pfn', String(pfn)); // zoom to 16 pixels a frame around it
await page.click('#goto-pfn + button');
await page.waitForSelector('#frame-info');
const box = await page.locator('#memmap').boundingBox();
const vs = await page.evaluate(() => ({ ...document.getElementById('memmap').dataset }));
const css = (box.width - 2) / 1024 * Number(vs.z); // CSS pixels a frame (inside the 1px border)
const target = pfn + 3; // the middle of its block of 8
await page.mouse.click(box.x + 1 + ((target % 1024) - Number(vs.ox) + 0.5) * css,
  box.y + 1 + (Math.floor(target / 1024) - Number(vs.oy) + 0.5) * css);
await waitFor((t) => (document.querySelector('#frame-panel h3') || {}).textContent.includes(`pfn ${t.toLocaleString('en')} `), target);
const opened = Number((await text('#frame-panel h3')).match(/pfn ([\d,]+)/)[1].replace(/,/g, ''));
assert.equal(opened, target, 'the clicked cell\'s frame opens');
assert.match(await text('#frame-panel h3'), /allocated/);
assert.match(await text('#frame-info'), /_refcount/);
await page.click('#zoom-in');
await shot('memmap');

step('a page walk');
await page.goto(`${base}/#/walk/web1`);
await page.fill('#va', allocs[0].result.address);
await page.click('#walk-go');
await page.waitForSelector('#walk-result table');
assert.match(await text('#walk-result'), new RegExp(`physical ${allocs[0].result.phys}`));
assert.match(await text('#walk-result table'), /pgd/);
await shot('walk');

step('the other actions, each a command: vmalloc, kmalloc, kvmalloc, kmap/kunmap, a sysctl, a snapshot');
await page.goto(`${base}/#/actions/web1`);
await page.waitForSelector('#vmalloc');
const heldRows = () => page.locator('#held tr').count();
let rows = await heldRows();
await page.fill('#vmalloc input[name=size]', '16384');
await page.click('#vmalloc button[type=submit]');
await waitFor((n) => document.querySelectorAll('#held tr').length > n, rows);
assert.match(await text('#held'), /vmalloc 0x[0-9a-f]+ \(16384 bytes/);
rows = await heldRows();
await page.fill('#kmalloc input[name=size]', '100');
await page.click('#kmalloc button[type=submit]');
await waitFor((n) => document.querySelectorAll('#held tr').length > n, rows);
assert.match(await text('#held'), /kmalloc 0x[0-9a-f]+ \(kmalloc-128, ksize 128\)/);
rows = await heldRows();
await page.fill('#kvmalloc input[name=size]', '100000');
await page.click('#kvmalloc button[type=submit]');
await waitFor((n) => document.querySelectorAll('#held tr').length > n, rows);
assert.match(await text('#held'), /kvmalloc 0x[0-9a-f]+ \((kmalloc|vmalloc), 100000 bytes\)/);
const hp = JSON.parse(curl(`${base}/v1/machines/web1/pages`, '-d', '{"gfp": "GFP_HIGHUSER"}'));
rows = await heldRows();
await page.fill('#kmap input[name=pfn]', String(hp.pfn));
await page.click('#kmap button[type=submit]');
await waitFor((n) => document.querySelectorAll('#held tr').length > n, rows);
const slot = () => JSON.parse(curl(`${base}/v1/machines/web1/kmap`)).slots.find((x) => x.pfn === hp.pfn);
assert.equal(slot().count, 2, 'kmap: the slot maps the page');
await page.locator('#held tr', { hasText: `kmap pfn ${hp.pfn}` }).locator('button').click();
await waitFor(() => !document.getElementById('held').textContent.includes('kmap pfn'));
assert.equal(slot().count, 1, 'kunmap: unmapped, flushed at the next wrap');
await page.selectOption('#sysctl select[name=name]', 'watermark_scale_factor');
await page.waitForSelector('#sysctl input[data-loaded=watermark_scale_factor]');
assert.equal(await page.inputValue('#sysctl input[name=value]'), '10', 'the current value is shown');
await page.selectOption('#sysctl select[name=name]', 'min_free_kbytes');
await page.waitForSelector('#sysctl input[data-loaded=min_free_kbytes]');
await page.fill('#sysctl input[name=value]', '8192');
await page.click('#sysctl button[type=submit]');
await waitFor(() => document.getElementById('action-log').textContent.includes('vm.min_free_kbytes = 8192'));
assert.equal(JSON.parse(curl(`${base}/v1/machines/web1/sysctl/vm/min_free_kbytes`)).value, 8192);
await page.fill('#snapshot input[name=label]', 'from-the-page');
await page.click('#snapshot button[type=submit]');
await waitFor(() => document.getElementById('action-log').textContent.includes('"label":"from-the-page"'));
await shot('actions');

step('live updates from another client (curl)');
await page.goto(`${base}/#/zones/web1`);
await page.waitForSelector('svg.wmark');
await waitFor(() => window.mm32.mode !== 'off');
const mode = await page.evaluate(() => window.mm32.mode);
const seq0 = await page.evaluate(() => window.mm32.seq);
const freeBefore = await text('#zones');
curl(`${base}/v1/machines/web1/commands`, '-H', 'Content-Type: application/json', '-d',
  JSON.stringify(Array(20).fill({ op: 'alloc_pages', gfp: 'GFP_KERNEL', order: 2 })));
await waitFor((s) => window.mm32.seq >= s + 20, seq0, { timeout: 10000 });
await waitFor((t) => document.getElementById('zones') && document.getElementById('zones').textContent !== t, freeBefore, { timeout: 10000 });
console.log(`# live updates by ${mode}`);
assert.equal(mode, 'sse', 'the page follows GET /events');
await shot('zones');

step('the other views render');
curl(`${base}/v1/machines/web1/memory?addr=0xc0100000&len=4&space=kernel`); // a TLB entry to show
for (const [v, sel] of [['slab', '#slab-caches'], ['vspace', '#vspace'], ['tlb', '#tlbs'], ['timeline', '#journal table']]) {
  await page.goto(`${base}/#/${v}/web1`);
  await page.waitForSelector(sel);
  await shot(v);
}
assert.match(await text('#journal'), /alloc_pages/);
await page.goto(`${base}/#/tlb/web1`);
await page.waitForSelector('#tlbs table');
assert.match(await text('#tlbs'), /0xc0100000|0xc0000000/);
await page.goto(`${base}/#/timeline/web1`);
await page.waitForSelector('#journal table');
assert.ok(await page.locator('#journal .snapmark').count() >= 1, 'the snapshot is marked on its seq');

step('replay to a chosen seq into a new machine');
await page.fill('#until-seq', '3');
await page.fill('#replay-name', 'web1-at3');
await page.click('#replay button[type=submit]');
await page.waitForURL(/#\/timeline\/web1-at3/);
assert.equal(JSON.parse(curl(`${base}/v1/machines/web1-at3/state-hash`)).seq, 3);

if (big) {
  step(`the memory map of a 4 GiB machine (${big})`);
  await page.goto(`${base}/#/memmap/${big}`);
  await page.waitForSelector('#memmap[data-frames]', { timeout: 20000 });
  const first = await page.evaluate(() => window.mm32.perf);
  assert.equal(first.frames, JSON.parse(curl(`${base}/v1/machines/${big}/layout`)).max_pfn);
  const seq1 = await page.evaluate(() => window.mm32.seq);
  const n = await page.evaluate(() => window.mm32.perfLog.length);
  curl(`${base}/v1/machines/${big}/commands`, '-H', 'Content-Type: application/json', '-d',
    JSON.stringify(Array(1000).fill({ op: 'alloc_pages', gfp: 'GFP_HIGHUSER_MOVABLE', order: 0 })));
  const t0 = Date.now();
  await waitFor(([s, k]) => window.mm32.seq >= s + 1000 && window.mm32.perfLog.length > k &&
    window.mm32.perfLog[window.mm32.perfLog.length - 1].seq >= s + 1000, [seq1, n], { timeout: 20000 });
  const upd = await page.evaluate(() => window.mm32.perf);
  const t1 = Date.now();
  await shot('memmap-4g');
  // responsive: a zoom repaints at once
  const z = await page.evaluate(() => { const t = performance.now(); document.getElementById('zoom-in').click(); return performance.now() - t; });
  // the reference, measured in the same run: the same frames as /frames JSON (4096 a request)
  const ref = await page.evaluate(async (u) => {
    const t = performance.now();
    const j = await (await fetch(u)).json();
    return { frames: j.frames.length, ms: performance.now() - t };
  }, `/v1/machines/${big}/frames?start=200000&count=4096`);
  const refAll = ref.ms / ref.frames * first.frames;
  console.log(`PERF reference /frames JSON: ${ref.frames} frames in ${ref.ms.toFixed(1)} ms, ${(refAll / 1000).toFixed(1)} s for ${first.frames} frames; memmap fetch is ${(refAll / first.fetch_ms).toFixed(0)}x faster`);
  console.log(`PERF memmap frames=${first.frames} first_fetch_ms=${first.fetch_ms} first_draw_ms=${first.draw_ms} first_total_ms=${first.total_ms}`);
  console.log(`PERF memmap_update_after_1000_allocs fetch_ms=${upd.fetch_ms} draw_ms=${upd.draw_ms} total_ms=${upd.total_ms} seen_after_ms=${t1 - t0} zoom_repaint_ms=${z.toFixed(1)}`);
}

await browser.close();
if (errors.length) {
  console.error(errors.join('\n'));
  process.exit(1);
}
console.log('# ok');
