// Drives JupyterLab in headless Chromium, as a student would. Started by run.sh, which starts the server and
// passes everything through the environment:
//   JUPYTER_URL, JUPYTER_TOKEN   the server
//   CHROMIUM, PROFILE_DIR        the browser executable and a fresh, empty profile folder
//   COURSE_ROOT                  the folder the server serves (to read the notebooks' own text)
//   START, LESSON, LAB           the notebooks to open, relative to COURSE_ROOT
//   SCREENSHOTS                  where to save screenshots for a person to look at
import fs from 'node:fs';
import path from 'node:path';
import * as lab from './lab.mjs';
import { Failure, check, closeNotebook, env, readNotebook, step } from './lab.mjs';

const TOTAL_LIMIT_MS = 120_000;  // the whole drive, browser start to browser close (it takes about 1 min)
const OPEN_MS = 60_000;          // loading JupyterLab and a notebook, up to an idle kernel
const RUN_ALL_MS = 90_000;       // running every cell of the lesson
const REDRAW_MS = 20_000;        // an explorer's redraw after its slider moved

// This run's screenshots only: a failure.png left from an earlier run would mislead.
fs.mkdirSync(env.SCREENSHOTS, { recursive: true });
for (const name of fs.readdirSync(env.SCREENSHOTS)) {
  if (name.endsWith('.png')) fs.rmSync(path.join(env.SCREENSHOTS, name));
}
const screenshot = async (page, name) => {
  const file = path.join(env.SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  step(`  screenshot: tests/browser/screenshots/${name}.png`);
};

// The notebook's markdown cells, as read from its file.
function markdownCells(notebookPath) {
  const notebook = readNotebook(notebookPath);
  return notebook.cells.filter((cell) => cell.cell_type === 'markdown')
    .map((cell) => (Array.isArray(cell.source) ? cell.source.join('') : cell.source));
}

// The first heading of the notebook's markdown, without its markdown marks.
function firstHeading(markdown) {
  for (const source of markdown) {
    const line = source.split('\n').find((l) => /^#{1,6}\s/.test(l));
    if (line) return line.replace(/^#+\s*/, '').replace(/[*_`]/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').trim();
  }
  return null;
}

// Open one notebook in a fresh JupyterLab workspace (as Binder's labpath does) and wait for its kernel.
const openNotebook = (page, notebookPath) => lab.openNotebook(page, notebookPath, OPEN_MS);

// The notebook's text is rendered: its first heading is an HTML heading, and no markdown cell stayed raw.
async function checkTextRenders(panel, notebookPath) {
  const markdown = markdownCells(notebookPath);
  const heading = firstHeading(markdown);
  check(heading, `${notebookPath} has no markdown heading to look for`);
  const rendered = panel.locator('.jp-RenderedMarkdown').locator('h1, h2, h3').filter({ hasText: heading });
  await rendered.first().waitFor({ timeout: 15_000 }).catch(() => {
    throw new Failure(`the heading "${heading}" of ${notebookPath} is not rendered`);
  });
  // JupyterLab renders cells one after another: wait (as for the heading) until all are, or the time is up.
  const cells = panel.locator('.jp-MarkdownCell.jp-mod-rendered');
  const deadline = Date.now() + 15_000;
  let shown = await cells.count();
  while (shown < markdown.length && Date.now() < deadline) {
    await panel.page().waitForTimeout(250);
    shown = await cells.count();
  }
  check(shown === markdown.length, `${shown} of the ${markdown.length} markdown cells of ${notebookPath} are rendered`);
  step(`  the heading "${heading}" and all ${markdown.length} markdown cells are rendered`);
}

const runAllCells = (page, panel) => lab.runAllCells(page, panel, RUN_ALL_MS);

async function checkLesson(page, panel) {
  step('  Run > Run All Cells');
  const started = Date.now();
  const result = await runAllCells(page, panel);
  step(`  ${result.numbered} of ${result.total} code cells ran in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const errors = await panel.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    .allTextContents();
  check(errors.length === 0, `the lesson wrote ${errors.length} error output(s):\n${errors.join('\n---\n').slice(0, 3000)}`);
  check(result.numbered === result.total, `only ${result.numbered} of ${result.total} code cells ran`);
  await panel.locator('.jp-OutputArea-output', { hasText: 'Loading widget...' }).first()
    .waitFor({ state: 'detached', timeout: 15_000 }).catch(() => {
      throw new Failure('a widget is still "Loading widget..." 15 s after the cells ran');
    });
  const widgetErrors = await panel.locator('.jp-OutputArea-output', { hasText: 'Error displaying widget' })
    .allTextContents();
  check(widgetErrors.length === 0, `a widget did not render: ${widgetErrors.join(' | ').slice(0, 500)}`);
  step('  no error output; every widget rendered');

  const images = panel.locator('.jp-OutputArea-output img');
  const drawn = await images.evaluateAll((nodes) => nodes.filter((img) => img.complete && img.naturalWidth > 0).length);
  check(drawn > 0, 'the lesson drew no plot (no image in any output)');
  step(`  ${drawn} plot(s) drawn`);
}

// Cells above may still be laid out (JupyterLab skips rendering cells out of view), which moves the page
// under us: scroll until the element stays put.
async function scrollIntoView(page, locator) {
  let last = null;
  for (let i = 0; i < 10; i++) {
    await locator.evaluate((node) => node.scrollIntoView({ block: 'center' }));
    await page.waitForTimeout(300);
    const top = (await locator.boundingBox())?.y;
    if (top === last) return;
    last = top;
  }
}

// Find the first explorer (a widget output with a slider and a figure), move its slider, see the plot change.
async function checkExplorer(page, panel) {
  const explorer = panel.locator('.jp-OutputArea-output')
    .filter({ has: page.locator('.widget-slider') })
    .filter({ has: page.locator('img.optilab-explorer-image, .widget-output img') })
    .first();
  check(await explorer.count() === 1, 'no explorer (a slider above a plot) in the lesson');
  await scrollIntoView(page, explorer);
  const slider = explorer.locator('.widget-slider').first();
  const image = explorer.locator('img.optilab-explorer-image, .widget-output img').first();
  const label = (await slider.locator('.widget-label').first().textContent())?.trim() || 'slider';
  const readout = slider.locator('.widget-readout');
  const before = { value: (await readout.textContent())?.trim(), src: await image.getAttribute('src') };
  await screenshot(page, '2-lesson-explorer-before');

  const handle = slider.locator('.noUi-handle');
  await handle.focus();
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
  let moved = await readout.textContent().then((t) => t.trim() !== before.value);
  if (!moved) {   // at the right end already, or no keyboard support: drag it with the mouse
    const box = await handle.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x - 60, box.y + box.height / 2, { steps: 10 });
    await page.mouse.up();
    moved = await readout.textContent().then((t) => t.trim() !== before.value);
  }
  const after = (await readout.textContent())?.trim();
  check(moved, `the slider "${label}" did not move (its readout stayed ${before.value})`);
  step(`  moved the slider "${label}": ${before.value} -> ${after}`);

  await page.waitForFunction(([node, src]) => {
    const img = node.querySelector('img.optilab-explorer-image, .widget-output img');
    return img && img.getAttribute('src') !== src && img.complete && img.naturalWidth > 0;
  }, [await explorer.elementHandle(), before.src], { timeout: REDRAW_MS }).catch(() => {
    throw new Failure(`the plot did not change within ${REDRAW_MS / 1000} s after the slider "${label}" moved`);
  });
  step('  the plot changed');
  // Each arrow press is one redraw: let the kernel finish them before the screenshot.
  await page.locator('.jp-StatusBar-TextItem', { hasText: /\| Idle$/ }).waitFor({ timeout: REDRAW_MS });
  await screenshot(page, '3-lesson-explorer-after');
}

async function checkLab(page, panel) {
  const validate = panel.locator('.jp-Toolbar .validate-button').filter({ hasText: 'Validate' });
  await validate.first().waitFor({ timeout: 15_000 }).catch(() => {
    throw new Failure("nbgrader's Validate button is not in the lab's toolbar (is nbgrader's lab extension enabled?)");
  });
  step('  nbgrader\'s "Validate" button is in the toolbar');
}

let context = null;
let page = null;
const watchdog = setTimeout(async () => {
  console.error(`test-browser: FAILED: the browser test took longer than ${TOTAL_LIMIT_MS / 1000} s`);
  if (page) await screenshot(page, 'failure').catch(() => {});
  process.exit(1);
}, TOTAL_LIMIT_MS);

try {
  step(`starting Chromium (${env.CHROMIUM})`);
  ({ context, page } = await lab.launch());

  step(`start page: ${env.START}`);
  let panel = await openNotebook(page, env.START);
  await checkTextRenders(panel, env.START);
  await screenshot(page, '1-start-page');
  await closeNotebook(page);

  step(`lesson: ${env.LESSON}`);
  panel = await openNotebook(page, env.LESSON);
  await checkLesson(page, panel);
  await checkExplorer(page, panel);
  await closeNotebook(page);

  step(`lab: ${env.LAB}`);
  panel = await openNotebook(page, env.LAB);
  await checkTextRenders(panel, env.LAB);
  await checkLab(page, panel);
  await screenshot(page, '4-lab');
  await closeNotebook(page);

  step('all browser checks passed');
} catch (error) {
  console.error(`test-browser: FAILED: ${error instanceof Failure ? error.message : error.stack}`);
  if (page) await screenshot(page, 'failure').catch(() => {});
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  if (context) await context.close().catch(() => {});
}
