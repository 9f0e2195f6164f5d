// Drives JupyterLab in headless Chromium, as a student would. Started by run.sh, which starts the server and
// passes everything through the environment:
//   JUPYTER_URL, JUPYTER_TOKEN   the server
//   CHROMIUM, PROFILE_DIR        the browser executable and a fresh, empty profile folder
//   COURSE_ROOT                  the folder the server serves (to read the notebooks' own text)
//   START, LESSON, LAB           the notebooks to open, relative to COURSE_ROOT
//   SCREENSHOTS                  where to save screenshots for a person to look at
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = process.env;
const TOTAL_LIMIT_MS = 120_000;  // the whole drive, browser start to browser close (it takes about 1 min)
const OPEN_MS = 60_000;          // loading JupyterLab and a notebook, up to an idle kernel
const RUN_ALL_MS = 90_000;       // running every cell of the lesson
const REDRAW_MS = 20_000;        // an explorer's redraw after its slider moved

const t0 = Date.now();
const seconds = () => ((Date.now() - t0) / 1000).toFixed(1).padStart(5);
const step = (message) => console.log(`[${seconds()} s] ${message}`);

class Failure extends Error {}
const check = (condition, message) => { if (!condition) throw new Failure(message); };

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
  const notebook = JSON.parse(fs.readFileSync(path.join(env.COURSE_ROOT, notebookPath), 'utf8'));
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

async function api(method, route) {
  const response = await fetch(`${env.JUPYTER_URL}${route}`, {
    method, headers: { Authorization: `token ${env.JUPYTER_TOKEN}` },
  });
  check(response.ok, `${method} ${route} answered ${response.status}`);
  return response.status === 204 ? null : response.json();
}

// Leave the notebook and shut down the kernels it started, so each notebook starts from a clean server.
async function closeNotebook(page) {
  await page.goto('about:blank');
  for (const session of await api('GET', '/api/sessions')) await api('DELETE', `/api/sessions/${session.id}`);
}

// The toolbar's indicator says "idle" before any kernel exists, so ask both sides: the server has the
// notebook's kernel idle with the page connected to it, and the page's status bar says it is idle.
async function waitForKernel(page, notebookPath) {
  const deadline = Date.now() + OPEN_MS;
  for (;;) {
    const sessions = await api('GET', '/api/sessions');
    const kernel = sessions.find((s) => s.path === notebookPath)?.kernel;
    const status = await page.locator('.jp-StatusBar-TextItem', { hasText: ' | ' }).allTextContents();
    if (kernel?.execution_state === 'idle' && kernel.connections > 0 && status.some((t) => /\| Idle$/.test(t.trim()))) {
      return kernel;
    }
    check(Date.now() < deadline, `the kernel of ${notebookPath} was not ready within ${OPEN_MS / 1000} s ` +
      `(server: ${kernel?.execution_state ?? 'no kernel'}, page: ${status.join(', ') || 'no status'})`);
    await page.waitForTimeout(250);
  }
}

// Open one notebook in a fresh JupyterLab workspace (as Binder's labpath does) and wait for its kernel.
async function openNotebook(page, notebookPath) {
  const route = notebookPath.split('/').map(encodeURIComponent).join('/');
  await page.goto(`${env.JUPYTER_URL}/lab/tree/${route}?reset&token=${env.JUPYTER_TOKEN}`,
    { waitUntil: 'domcontentloaded', timeout: OPEN_MS });
  const panel = page.locator('.jp-NotebookPanel').filter({ visible: true }).first();
  await panel.locator('.jp-Cell').first().waitFor({ timeout: OPEN_MS });
  const tab = await page.locator('.jp-mod-current .lm-TabBar-tabLabel').first().textContent();
  check(tab?.trim() === path.basename(notebookPath), `the open tab is "${tab}", not ${path.basename(notebookPath)}`);
  const kernel = await waitForKernel(page, notebookPath);
  step(`  opened; kernel ${kernel.name} is idle`);
  return panel;
}

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

async function runAllCells(page, panel) {
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();
  const codeCells = panel.locator('.jp-CodeCell');
  const total = await codeCells.count();
  // Done when the kernel is idle, no cell waits or runs ([*]), and every cell has run or one failed
  // (an error stops the rest); the state must hold for a second, since cells are queued one by one.
  let stableSince = null;
  const deadline = Date.now() + RUN_ALL_MS;
  for (;;) {
    check(Date.now() < deadline, `the lesson's cells did not finish within ${RUN_ALL_MS / 1000} s`);
    const state = await panel.evaluate((node) => {
      const prompts = [...node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map((p) => p.textContent.trim());
      return {
        idle: node.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle',
        running: prompts.filter((p) => p.includes('*')).length,
        numbered: prompts.filter((p) => /\[\d+\]/.test(p)).length,
        errors: node.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').length,
      };
    });
    const done = state.idle && state.running === 0 && (state.numbered === total || state.errors > 0);
    if (!done) stableSince = null;
    else if (stableSince === null) stableSince = Date.now();
    else if (Date.now() - stableSince >= 1000) return { total, ...state };
    await page.waitForTimeout(250);
  }
}

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
  // The network is closed on CI and in many classrooms: these flags keep Chromium from waiting on it.
  context = await chromium.launchPersistentContext(env.PROFILE_DIR, {
    executablePath: env.CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    timeout: 30_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (error) => step(`  (page error: ${error.message.split('\n')[0]})`));

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
