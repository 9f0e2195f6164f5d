// What the browser drivers share: talking to the JupyterLab that run.sh started, opening a notebook,
// running all its cells. Everything comes from the environment run.sh sets (see drive.mjs).
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const env = process.env;
const t0 = Date.now();
const seconds = () => ((Date.now() - t0) / 1000).toFixed(1).padStart(5);
export const step = (message) => console.log(`[${seconds()} s] ${message}`);

export class Failure extends Error {}
export const check = (condition, message) => { if (!condition) throw new Failure(message); };

export async function api(method, route) {
  const response = await fetch(`${env.JUPYTER_URL}${route}`, {
    method, headers: { Authorization: `token ${env.JUPYTER_TOKEN}` },
  });
  check(response.ok, `${method} ${route} answered ${response.status}`);
  return response.status === 204 ? null : response.json();
}

export async function launch() {
  // The network is closed on CI and in many classrooms: these flags keep Chromium from waiting on it.
  const context = await chromium.launchPersistentContext(env.PROFILE_DIR, {
    executablePath: env.CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    timeout: 30_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (error) => step(`  (page error: ${error.message.split('\n')[0]})`));
  return { context, page };
}

export async function closeNotebook(page) {
  await page.goto('about:blank');
  for (const session of await api('GET', '/api/sessions')) await api('DELETE', `/api/sessions/${session.id}`);
}

export async function waitForKernel(page, notebookPath, limitMs = 90_000) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const sessions = await api('GET', '/api/sessions');
    const kernel = sessions.find((s) => s.path === notebookPath)?.kernel;
    const status = await page.locator('.jp-StatusBar-TextItem', { hasText: ' | ' }).allTextContents();
    if (kernel?.execution_state === 'idle' && kernel.connections > 0 && status.some((t) => /\| Idle$/.test(t.trim()))) {
      return kernel;
    }
    check(Date.now() < deadline, `the kernel of ${notebookPath} was not ready within ${limitMs / 1000} s ` +
      `(server: ${kernel?.execution_state ?? 'no kernel'}, page: ${status.join(', ') || 'no status'})`);
    await page.waitForTimeout(250);
  }
}

// Open a notebook in a fresh workspace (as Binder's labpath does), the file browser open as by default.
export async function openNotebook(page, notebookPath, limitMs = 90_000) {
  const route = notebookPath.split('/').map(encodeURIComponent).join('/');
  await page.goto(`${env.JUPYTER_URL}/lab/tree/${route}?reset&token=${env.JUPYTER_TOKEN}`,
    { waitUntil: 'domcontentloaded', timeout: limitMs });
  const panel = page.locator('.jp-NotebookPanel').filter({ visible: true }).first();
  await panel.locator('.jp-Cell').first().waitFor({ timeout: limitMs });
  const tab = await page.locator('.jp-mod-current .lm-TabBar-tabLabel').first().textContent();
  check(tab?.trim() === path.basename(notebookPath), `the open tab is "${tab}", not ${path.basename(notebookPath)}`);
  const kernel = await waitForKernel(page, notebookPath, limitMs);
  step(`  opened; kernel ${kernel.name} is idle`);
  return panel;
}

export async function runAllCells(page, panel, limitMs = 180_000) {
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();
  return waitForCells(page, panel, limitMs);
}

// Done when the kernel is idle, no cell waits or runs, and every cell has run or one failed; held for a second.
export async function waitForCells(page, panel, limitMs = 180_000) {
  const total = await panel.locator('.jp-CodeCell').count();
  let stableSince = null;
  const deadline = Date.now() + limitMs;
  for (;;) {
    check(Date.now() < deadline, `the cells did not finish within ${limitMs / 1000} s`);
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

export function readNotebook(notebookPath) {
  return JSON.parse(fs.readFileSync(path.join(env.COURSE_ROOT, notebookPath), 'utf8'));
}

export function writeNotebook(notebookPath, notebook) {
  fs.writeFileSync(path.join(env.COURSE_ROOT, notebookPath), JSON.stringify(notebook, null, 1));
}

export function codeCell(source) {
  return { cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source };
}
