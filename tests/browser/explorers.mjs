// The explorers as a student's hand meets them, in JupyterLab in headless Chromium. Started by run.sh.
//
//   MODE=test   (make test-browser) every lesson in LESSONS: Run All, then every explorer in it (an
//               optilab.widgets.explorer.Explorer, CSS class optilab-explorer) gets INPUTS inputs going round
//               its controls (arrow keys on sliders, clicks and choices on the others), each waited for;
//               asserts that every input brings a new figure for the new values, that after a mouse drag
//               and after a burst of key presses the last figure is the one for where the slider stopped,
//               and that each explorer's picture equals a full draw of its figure (pixels and text regions).
//               No wall-clock limits: a generous timeout only catches an input left without a figure.
//   MODE=bench  (make bench) one generated notebook with every registered explorer twice, the current
//               display and the reference one (Explorer display="output"); each gets INPUTS inputs, timed
//               from the input event to the new figure painted; results as JSON in RESULTS.
//
// Every input's time is split with the timings the kernel sends beside each figure (Explorer.stats):
//   to kernel (input event -> kernel starts the change), compute (the lesson's draw function), draw (painting
//   the figure), encode (PNG), transfer (kernel sent -> the image in the page), decode+paint (the image decoded
//   and the next animation frame drawn).
import fs from 'node:fs';
import path from 'node:path';
import {
  env, step, Failure, check, launch, openNotebook, closeNotebook, runAllCells, waitForCells,
  readNotebook, writeNotebook, codeCell,
} from './lab.mjs';

const MODE = env.MODE || 'test';
const INPUTS = Number(env.INPUTS || 12);
// MODE=bench also drives a third copy of each explorer at a person's pace: PACE_MS from one figure to the
// next input (a student looks at the figure, then presses again). Back to back, the next input comes as
// soon as the figure is painted.
const PACE_MS = Number(env.PACE_MS || 300);
const FRAME_TIMEOUT_MS = Number(env.FRAME_TIMEOUT_MS || 30_000);  // a hang detector, not a speed limit
// Lesson numbers; by default every lesson but 00 (the start page).
const LESSONS = (env.LESSONS || fs.readdirSync(path.join(env.COURSE_ROOT, 'lessons'))
  .map((f) => f.match(/^(\d\d)_.*\.ipynb$/)?.[1]).filter((n) => n && n !== '00').sort().join(' '))
  .split(/\s+/).filter(Boolean);

// -- in the page --------------------------------------------------------------------------------------
// Time stamps in the page are epoch milliseconds (performance.timeOrigin + ...), as the kernel's are.
function installProbe() {
  if (window.__optilab) return;
  window.__optilab = { armed: false, input: null };
  for (const type of ['keydown', 'pointerdown', 'input', 'change']) {
    document.addEventListener(type, (event) => {
      const probe = window.__optilab;
      if (probe.armed && probe.input === null) probe.input = performance.timeOrigin + event.timeStamp;
    }, true);
  }
}

// The explorer's current figure and the stats the kernel sent with it.
function currentFrame(root) {
  const img = root.querySelector('img.optilab-explorer-image') || root.querySelector('.widget-output img');
  const text = root.querySelector('.optilab-explorer-stats .widget-html-content')?.textContent || '{}';
  let stats = {};
  try { stats = JSON.parse(text); } catch { /* not yet */ }
  return { img, src: img?.getAttribute('src') || null, stats };
}

// Resolves when a figure newer than `frame` is in the page, decoded, and the next animation frame drawn.
function nextFigure(root, frame, timeoutMs) {
  const now = () => performance.timeOrigin + performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = async (img, stats) => {
      done = true;
      observer.disconnect();
      clearTimeout(timer);
      const inPage = now();
      try { await img.decode(); } catch { /* an image replaced while decoding: still painted below */ }
      const decoded = now();
      requestAnimationFrame(() => {
        const channel = new MessageChannel();  // runs after the frame the callback belongs to is drawn
        channel.port1.onmessage = () => resolve({ ok: true, stats, inPage, decoded, painted: now(),
          width: img.naturalWidth, height: img.naturalHeight, shownWidth: img.getBoundingClientRect().width });
        channel.port2.postMessage(null);
      });
    };
    const look = () => {
      if (done) return;
      const text = root.querySelector('.optilab-explorer-stats .widget-html-content')?.textContent || '{}';
      let stats = {};
      try { stats = JSON.parse(text); } catch { return; }
      const img = root.querySelector('img.optilab-explorer-image') || root.querySelector('.widget-output img');
      if (!img || !(stats.frame > frame)) return;
      if (img.__optilabFrame === stats.frame) return;
      img.__optilabFrame = stats.frame;
      // In the output display the old image goes and a new one comes; in the image display the src changes.
      finish(img, stats);
    };
    const observer = new MutationObserver(look);
    observer.observe(root, { subtree: true, childList: true, attributes: true, attributeFilter: ['src'] });
    const timer = setTimeout(() => { done = true; observer.disconnect(); resolve({ ok: false }); }, timeoutMs);
    look();
  });
}

// Pixels of two images that differ (any channel by more than 40 of 255), overall and in each text's box.
async function comparePictures(shown, full, texts) {
  const pixels = async (img) => {
    await img.decode().catch(() => {});
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const context = canvas.getContext('2d');
    context.drawImage(img, 0, 0);
    return context.getImageData(0, 0, canvas.width, canvas.height);
  };
  const a = await pixels(shown);
  const b = await pixels(full);
  if (a.width !== b.width || a.height !== b.height) {
    return { sizes: [[a.width, a.height], [b.width, b.height]] };
  }
  const differs = (i) => Math.abs(a.data[i] - b.data[i]) > 40 || Math.abs(a.data[i + 1] - b.data[i + 1]) > 40
    || Math.abs(a.data[i + 2] - b.data[i + 2]) > 40;
  let count = 0;
  for (let i = 0; i < a.data.length; i += 4) if (differs(i)) count += 1;
  const regions = [];
  for (const [where, content, [x0, y0, x1, y1]] of texts) {
    let n = 0; let bad = 0;
    for (let y = Math.max(0, a.height - y1); y < Math.min(a.height, a.height - y0); y++) {
      for (let x = Math.max(0, x0); x < Math.min(a.width, x1); x++) { n += 1; if (differs(4 * (y * a.width + x))) bad += 1; }
    }
    if (n && bad / n > 0.02) regions.push(`${where} "${content}": ${(100 * bad / n).toFixed(0)} % of its pixels differ`);
  }
  return { fraction: count / (a.width * a.height), regions };
}

// -- in Node ------------------------------------------------------------------------------------------
async function controlsOf(root) {
  const box = root.locator(':scope > .widget-hbox').first();
  const all = box.locator(':scope > *');
  const out = [];
  for (let i = 0; i < await all.count(); i++) {
    const control = all.nth(i);
    const cls = (await control.getAttribute('class')) || '';
    let kind = null;
    if (/widget-(h|v)?slider/.test(cls) || await control.locator('.noUi-handle').count()) kind = 'slider';
    else if (/widget-checkbox/.test(cls)) kind = 'checkbox';
    else if (/widget-select-multiple/.test(cls)) kind = 'multiple';
    else if (/widget-dropdown/.test(cls)) kind = 'dropdown';
    else if (/widget-toggle-buttons/.test(cls)) kind = 'toggles';
    const label = ((await control.locator('.widget-label').first().textContent().catch(() => '')) || '').trim();
    if (kind) out.push({ kind, control, label: label || kind, direction: 1 });
  }
  return out;
}

// One input on one control, as a hand would make it. Returns a description.
async function move(page, c) {
  if (c.kind === 'slider') {
    const handle = c.control.locator('.noUi-handle').first();
    const [now, min, max] = await handle.evaluate((h) => ['aria-valuenow', 'aria-valuemin', 'aria-valuemax']
      .map((a) => Number(h.getAttribute(a))));
    if ((c.direction > 0 && now >= max) || (c.direction < 0 && now <= min)) c.direction = -c.direction;
    await handle.focus();
    const key = c.direction > 0 ? 'ArrowRight' : 'ArrowLeft';
    await page.keyboard.press(key);
    return `${c.label} ${key}`;
  }
  if (c.kind === 'checkbox') {
    await c.control.locator('input').first().click();
    return `${c.label} click`;
  }
  if (c.kind === 'dropdown' || c.kind === 'multiple') {
    const select = c.control.locator('select').first();
    const options = await select.locator('option').evaluateAll((os) => os.map((o) => ({ value: o.value, selected: o.selected })));
    if (c.kind === 'dropdown') {
      const i = options.findIndex((o) => o.selected);
      const next = options[(i + 1) % options.length].value;
      await select.selectOption(next);
      return `${c.label} -> option ${next}`;
    }
    // tick or untick one option at a time, going round; never leave nothing ticked
    c.cursor = ((c.cursor ?? -1) + 1) % options.length;
    const chosen = options.filter((o) => o.selected).map((o) => o.value);
    const value = options[c.cursor].value;
    const next = chosen.includes(value) ? (chosen.length > 1 ? chosen.filter((v) => v !== value) : null) : [...chosen, value];
    if (next === null) return move(page, c);
    await select.selectOption(next);
    return `${c.label} -> ${next.length} ticked`;
  }
  if (c.kind === 'toggles') {
    const buttons = c.control.locator('button');
    const states = await buttons.evaluateAll((bs) => bs.map((b) => b.classList.contains('mod-active')));
    const i = (states.indexOf(true) + 1) % states.length;
    await buttons.nth(i).click();
    return `${c.label} -> button ${i}`;
  }
  throw new Failure(`no way to move a ${c.kind}`);
}

// Wait until no new figure came for `quietMs` and the kernel is idle; the last figure's stats.
async function settle(page, root, quietMs = 1500) {
  let last = await root.evaluate((node, fn) => new Function(`return (${fn})`)()(node).stats, currentFrame.toString());
  for (let i = 0; i < 200; i++) {
    await page.locator('.jp-StatusBar-TextItem', { hasText: /\| Idle$/ }).waitFor({ timeout: FRAME_TIMEOUT_MS });
    const got = await root.evaluate((node, [fn, frame, ms]) => new Function(`return (${fn})`)()(node, frame, ms),
      [nextFigure.toString(), last.frame ?? 0, quietMs]);
    if (!got.ok) return last;
    last = got.stats;
  }
  throw new Failure('the figure kept changing for minutes after the last input');
}

// The slider's readout against what the last figure was drawn for (its stats' "shown" values).
async function sliderAgrees(c, stats) {
  const readout = ((await c.control.locator('.widget-readout').first().textContent()) || '').trim();
  const values = Object.values(stats.shown || {});
  const number = Number(readout.replace('−', '-'));
  if (readout !== '' && Number.isFinite(number)) {
    const decimals = (readout.split(/[eE]/)[0].split('.')[1] || '').length;
    const exponent = Number(readout.split(/[eE]/)[1] || 0);
    const half = 0.5 * 10 ** (exponent - decimals) * 1.0001;
    return { readout, ok: values.some((v) => v !== null && v !== '' && typeof v !== 'boolean' && Math.abs(Number(v) - number) <= half) };
  }
  return { readout, ok: values.some((v) => String(v) === readout) };
}

async function drive(page, root, name, record, pace = 0) {
  await root.scrollIntoViewIfNeeded();
  const controls = await controlsOf(root);
  check(controls.length > 0, `${name}: no control found`);
  const frame = () => root.evaluate((node, fn) => new Function(`return (${fn})`)()(node).stats, currentFrame.toString());
  let stats = await frame();
  const inputs = [];
  for (let k = 0; k < Math.max(INPUTS, controls.length); k++) {
    const c = controls[k % controls.length];
    await page.evaluate(() => { window.__optilab.armed = true; window.__optilab.input = null; });
    const waiting = root.evaluate((node, [fn, f, ms]) => new Function(`return (${fn})`)()(node, f, ms),
      [nextFigure.toString(), stats.frame ?? 0, FRAME_TIMEOUT_MS]);
    const what = await move(page, c);
    const got = await waiting;
    const input = await page.evaluate(() => { window.__optilab.armed = false; return window.__optilab.input; });
    check(got.ok, `${name}: no new figure within ${FRAME_TIMEOUT_MS / 1000} s after input ${k + 1} (${what})`);
    check(input !== null, `${name}: input ${k + 1} (${what}) was not seen as an event in the page`);
    const s = got.stats;
    check(s.frame === (stats.frame ?? 0) + 1, `${name}: input ${k + 1} (${what}) brought figure ${s.frame} after ${stats.frame}`);
    inputs.push({
      what, total: got.painted - input, to_kernel: s.received - input, compute: s.compute_ms, draw: s.render_ms,
      encode: s.encode_ms, kernel_cpu: s.cpu_ms, kernel_other: s.sent - s.received - s.compute_ms - s.render_ms - s.encode_ms,
      transfer: got.inPage - s.sent, decode_paint: got.painted - got.inPage, bytes: s.bytes,
      width: got.width, shown_width: got.shownWidth,
    });
    stats = s;
    if (pace) await page.waitForTimeout(pace);
    if (c.kind === 'slider') {
      const agree = await sliderAgrees(c, s);
      check(agree.ok, `${name}: after ${what} the slider reads ${agree.readout}, the figure was drawn for ${JSON.stringify(s.shown)}`);
    }
  }
  record.inputs = inputs;
  record.display = stats.display;
  if (MODE !== 'test') return;

  // A drag and a burst of key presses on each slider: the last figure is for where it stopped.
  for (const c of controls.filter((x) => x.kind === 'slider')) {
    const handle = c.control.locator('.noUi-handle').first();
    const track = await c.control.locator('.noUi-target').first().boundingBox();
    const box = await handle.boundingBox();
    const before = (await frame()).frame;
    const toward = box.x + box.width / 2 < track.x + track.width / 2 ? track.x + track.width * 0.9 : track.x + track.width * 0.1;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(toward, box.y + box.height / 2, { steps: 20 });
    await page.mouse.up();
    let last = await settle(page, root);
    check(last.frame > before, `${name}: dragging "${c.label}" brought no new figure`);
    let agree = await sliderAgrees(c, last);
    check(agree.ok, `${name}: after dragging "${c.label}" it reads ${agree.readout}, the last figure is for ${JSON.stringify(last.shown)}`);
    record.drags = (record.drags || 0) + 1;
    record.drag_frames = (record.drag_frames || []).concat([last.frame - before]);
    await handle.focus();
    const [now, min, max] = await handle.evaluate((h) => ['aria-valuenow', 'aria-valuemin', 'aria-valuemax']
      .map((a) => Number(h.getAttribute(a))));
    const key = now - min > max - now ? 'ArrowLeft' : 'ArrowRight';
    for (let i = 0; i < 8; i++) await page.keyboard.press(key);
    last = await settle(page, root);
    agree = await sliderAgrees(c, last);
    check(agree.ok, `${name}: after 8 quick ${key} on "${c.label}" it reads ${agree.readout}, the last figure is for ${JSON.stringify(last.shown)}`);
  }
}

// Python run in the kernel after the inputs: a full draw (savefig) of every explorer's figure, as PNG,
// with the boxes of its texts, in explorer order. Its gc.get_objects() can hand it a tuple that the
// subshell's thread is still building, which then fails there (python/cpython#107137): a frame painted
// ahead that fails stops its round, and the figure is drawn again (tests/test_paint_ahead.py).
const FULL_DRAWS = `def _optilab_full_draws():
    import gc, io, json
    from IPython.display import Image, display
    from optilab.widgets.explorer import Explorer, _shown
    records = []
    for e in sorted((o for o in gc.get_objects() if isinstance(o, Explorer) and o.figure is not None), key=lambda o: o.serial):
        figure = e.figure
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=figure.dpi)
        renderer = figure.canvas.get_renderer()
        texts = []
        def add(where, t):
            if t is not None and t.get_visible() and t.get_text():
                texts.append([where, t.get_text(), [round(v) for v in t.get_window_extent(renderer).extents]])
        for i, ax in enumerate(figure.axes):
            for part in ("title", "_left_title", "_right_title"):
                add(f"axes {i} {part.strip('_')}", getattr(ax, part))
            for t in ax.texts:
                add(f"axes {i} text", t)
            if ax.get_legend() is not None and ax.get_legend().get_visible():
                for t in ax.get_legend().get_texts():
                    add(f"axes {i} legend", t)
        for t in figure.texts:
            add("figure text", t)
        display(Image(buffer.getvalue()))
        # the controls' values named as a frame's stats name them (the explorer's own _shown), to compare
        records.append({"serial": e.serial, "texts": texts, "painted_ahead": e.painted_ahead,
                        "controls": {name: _shown(c) for name, c in e.controls.items()}})
    print("OPTILAB-FULL-DRAWS " + json.dumps(records))
    from matplotlib.figure import Figure
    from optilab import plots
    legends = []
    for figure in (o for o in gc.get_objects() if isinstance(o, Figure)):
        boxes = [ax.get_legend() for ax in figure.axes] + list(figure.legends)
        sizes = [t.get_fontsize() * figure.dpi / 72 for lg in boxes if lg is not None for t in lg.get_texts()]
        if sizes:
            title = figure.get_suptitle() or next((ax.get_title() for ax in figure.axes if ax.get_title()), "")
            legends.append({"figure": title[:60], "smallest_px": min(sizes)})
    print("OPTILAB-LEGENDS " + json.dumps({"min_px": plots.MIN_LEGEND_PX, "figures": legends}))
_optilab_full_draws()`;

async function checkFullDraws(page, panel, roots, names) {
  const cell = panel.locator('.jp-CodeCell').last();
  await cell.locator('.jp-InputArea-prompt').click();
  await page.keyboard.press('Control+Enter');  // runs it in place (Shift+Enter would add a cell)
  await page.waitForTimeout(500);
  await waitForCells(page, panel, 120_000);
  const text = await cell.locator('.jp-OutputArea-output').filter({ hasText: 'OPTILAB-FULL-DRAWS' }).textContent();
  const records = JSON.parse(text.slice(text.indexOf('OPTILAB-FULL-DRAWS') + 19).split('\n')[0]);
  const legends = JSON.parse(text.slice(text.indexOf('OPTILAB-LEGENDS') + 16).split('\n')[0]);
  // Anything else the cell printed (an exception in a callback of the kernel, say) goes into a failure's message.
  const printed = (await cell.locator('.jp-OutputArea-output').allTextContents())
    .filter((t) => !t.includes('OPTILAB-FULL-DRAWS') && !t.includes('OPTILAB-LEGENDS') && t.trim()).join('\n').slice(0, 3000);
  const images = cell.locator('.jp-OutputArea-output img');
  for (let i = 0; i < roots.length; i++) {
    const stats = await roots[i].evaluate((node, fn) => new Function(`return (${fn})`)()(node).stats, currentFrame.toString());
    const j = records.findIndex((r) => r.serial === stats.serial);
    check(j >= 0, `${names[i]}: no full draw for explorer ${stats.serial}`);
    const shown = await roots[i].evaluate((node, fn) => new Function(`return (${fn})`)()(node).img !== null, currentFrame.toString());
    check(shown, `${names[i]}: no picture shown`);
    const result = await page.evaluate(async ([fn, fnCur, k, texts]) => {
      const roots = [...document.querySelectorAll('.optilab-explorer')];
      const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')];
      const images = [...cells[cells.length - 1].querySelectorAll('.jp-OutputArea-output img')];
      const compare = new Function(`return (${fn})`)();
      const current = new Function(`return (${fnCur})`)();
      const mine = roots.find((r) => current(r).stats.serial === texts.serial);
      return compare(current(mine).img, images[k], texts.texts);
    }, [comparePictures.toString(), currentFrame.toString(), j, records[j]]);
    check(!result.sizes, `${names[i]}: the picture is ${result.sizes?.[0]}, a full draw ${result.sizes?.[1]}`);
    const context = ` (picture shown: frame ${stats.frame}, for ${JSON.stringify(stats.shown)}; controls in the kernel `
      + `at the full draw: ${JSON.stringify(records[j].controls)}; frames painted ahead: ${records[j].painted_ahead})`
      + (printed ? `; the cell also printed:\n${printed}` : '');
    check(result.regions.length === 0, `${names[i]}: the picture shown differs from a full draw: ${result.regions.join('; ')}${context}`);
    check(result.fraction < 0.002, `${names[i]}: ${(100 * result.fraction).toFixed(2)} % of the pixels differ from a full draw${context}`);
  }
  step(`  every picture equals a full draw of its figure (${roots.length} explorers; texts and legends included)`);
  void images;
  return legends;
}

// Every figure of the lesson (static and explorers) fits JupyterLab's default layout (this 1280 × 900 window,
// file browser open): shown at 90 % of its size or more, so its legend text is at least MIN_LEGEND_PX × 0.9.
async function checkFit(panel, legends, lesson) {
  const images = await panel.evaluate((node) => {
    const cells = [...node.querySelectorAll('.jp-CodeCell')].slice(0, -1);  // not the check cell
    return cells.flatMap((cell, i) => [...cell.querySelectorAll('.jp-OutputArea-output img')]
      .map((img) => ({ cell: i + 1, natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
        column: img.closest('.jp-OutputArea-output').getBoundingClientRect().width })));
  });
  check(images.length > 0, `${lesson}: no figure in the page`);
  const scaled = images.filter((im) => im.shown < 0.9 * im.natural);
  check(scaled.length === 0, `${lesson}: figures shown below 90 % of their size in JupyterLab's default layout ` +
    `(${images[0].column.toFixed(0)} px column): ` + scaled.map((im) => `code cell ${im.cell}: ${im.natural} px shown at ${im.shown.toFixed(0)}`).join('; '));
  const stretched = images.filter((im) => im.shown > im.natural + 1);
  check(stretched.length === 0, `${lesson}: figures stretched beyond their size (blurred): ` +
    stretched.map((im) => `code cell ${im.cell}: ${im.natural} px shown at ${im.shown.toFixed(0)}`).join('; '));
  const scale = Math.min(1, ...images.map((im) => im.shown / im.natural));
  const small = legends.figures.filter((f) => f.smallest_px * scale < legends.min_px * 0.9);
  check(small.length === 0, `${lesson}: legend text below ${(legends.min_px * 0.9).toFixed(1)} px as shown: ` +
    small.map((f) => `"${f.figure}" ${f.smallest_px.toFixed(1)} px`).join('; '));
  const widest = Math.max(...images.map((im) => im.natural));
  step(`  all ${images.length} figures fit the ${images[0].column.toFixed(0)} px column (widest ${widest} px); ` +
    `legend text ≥ ${Math.min(...legends.figures.map((f) => f.smallest_px)).toFixed(1)} px`);
}

async function explorersIn(panel) {
  const roots = panel.locator('.optilab-explorer');
  const out = [];
  for (let i = 0; i < await roots.count(); i++) {
    const root = roots.nth(i);
    const cls = (await root.getAttribute('class')) || '';
    const name = (cls.match(/optilab-explorer-(\d\d-[\w-]+)/) || [])[1] || `explorer ${i + 1}`;
    out.push({ root, name });
  }
  return out;
}

function lessonPaths() {
  const all = fs.readdirSync(path.join(env.COURSE_ROOT, 'lessons')).filter((f) => f.endsWith('.ipynb')).sort();
  return LESSONS.map((n) => {
    const file = all.find((f) => f.startsWith(`${n}_`));
    check(file, `no lesson ${n}_*.ipynb in lessons/`);
    return `lessons/${file}`;
  });
}

async function testLessons(page) {
  const records = [];
  for (const lesson of lessonPaths()) {
    const notebook = readNotebook(lesson);
    notebook.cells.push({ ...codeCell(FULL_DRAWS), id: 'optilab-browser-full-draws' });
    const copy = lesson.replace('.ipynb', '.explorers-check.ipynb');
    writeNotebook(copy, notebook);
    step(`lesson: ${lesson}`);
    const panel = await openNotebook(page, copy);
    await page.evaluate(installProbe);
    const ran = await runAllCells(page, panel);
    check(ran.errors === 0 && ran.numbered === ran.total, `${lesson}: ${ran.numbered} of ${ran.total} cells ran, ${ran.errors} error output(s)`);
    const found = await explorersIn(panel);
    if (found.length === 0) step('  no explorer in this lesson (tests/test_lessons.py says whether it needs one)');
    for (const { root, name } of found) {
      const record = { lesson, name };
      await drive(page, root, name, record);
      const totals = record.inputs.map((x) => x.total).sort((a, b) => a - b);
      step(`  ${name}: ${record.inputs.length} inputs, each with a new figure for its values (median ${totals[totals.length >> 1].toFixed(0)} ms); ` +
        `${record.drags || 0} drag(s) and key bursts ended on the figure for where the slider stopped`);
      records.push(record);
    }
    const legends = await checkFullDraws(page, panel, found.map((f) => f.root), found.map((f) => f.name));  // also with none
    await checkFit(panel, legends, lesson);
    await closeNotebook(page);
  }
  return records;
}

const BENCH_CELL = `from optilab.widgets import registry
from IPython.display import display
for _name, _factory in sorted(registry().items()):
    for _display in ("image", "output", "image"):  # the third is driven at a person's pace
        _explorer = _factory()
        if _display != _explorer.display:
            _explorer.display = _display
            _explorer.update()
        display(_explorer)`;

async function bench(page) {
  const copy = 'lessons/explorers-bench.ipynb';
  const template = readNotebook(lessonPaths()[0]);
  writeNotebook(copy, { ...template, cells: [{ ...codeCell(BENCH_CELL), id: 'optilab-bench' }] });
  const panel = await openNotebook(page, copy);
  await page.evaluate(installProbe);
  const ran = await runAllCells(page, panel);
  check(ran.errors === 0, 'the bench notebook failed');
  const records = [];
  const seen = {};
  for (const { root, name } of await explorersIn(panel)) {
    const record = { name };
    seen[name] = (seen[name] || 0) + 1;
    const pace = seen[name] === 3 ? PACE_MS : 0;
    await drive(page, root, name, record, pace);
    if (pace) { record.display = `${record.display}, paced`; record.pace_ms = pace; }
    const totals = record.inputs.map((x) => x.total).sort((a, b) => a - b);
    const part = (key) => { const v = record.inputs.map((x) => x[key]).sort((a, b) => a - b); return v[v.length >> 1].toFixed(0); };
    step(`  ${name} (${record.display}): median ${totals[totals.length >> 1].toFixed(0)} ms = to kernel ${part('to_kernel')}, ` +
      `compute ${part('compute')}, draw ${part('draw')}, encode ${part('encode')}, other ${part('kernel_other')}, ` +
      `transfer ${part('transfer')}, decode+paint ${part('decode_paint')} (medians)`);
    records.push(record);
    if (env.RESULTS) fs.writeFileSync(env.RESULTS, JSON.stringify({ mode: MODE, inputs_per_explorer: INPUTS, records }, null, 1));
  }
  await closeNotebook(page);
  return records;
}

let context = null;
let page = null;
try {
  step(`starting Chromium (${env.CHROMIUM}); mode ${MODE}`);
  ({ context, page } = await launch());
  const records = MODE === 'bench' ? await bench(page) : await testLessons(page);
  if (env.RESULTS) fs.writeFileSync(env.RESULTS, JSON.stringify({ mode: MODE, inputs_per_explorer: INPUTS, records }, null, 1));
  step(`explorers: all checks passed (${records.length} explorers)`);
} catch (error) {
  console.error(`test-browser: FAILED: ${error instanceof Failure ? error.message : error.stack}`);
  if (page && env.SCREENSHOTS) {
    fs.mkdirSync(env.SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(env.SCREENSHOTS, 'explorers-failure.png') }).catch(() => {});
  }
  process.exitCode = 1;
} finally {
  if (context) await context.close().catch(() => {});
}
