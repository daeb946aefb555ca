// The patch IDs of workflow changes (README "Versioning and upgrades"): a change to the commands a
// workflow issues (activities, timers, child workflows, signals, continue-as-new, their order) ships
// behind `patched(PATCH.x)` with the old path kept, so that runs started by the previous release
// replay; a release later `deprecatePatch(PATCH.x)` replaces it, and the release after removes it.
// Each entry says when it went in and its stage.
export const PATCH = {
  /**
   * 2026-12 (stage: patched). The contact writer (inboxWorkflow), decided once at a run's first task:
   * - it starts a new run after 500 history events instead of 1,500, and first lets its batches finish
   *   (a few seconds at most) and cancels its wake-up timers: nothing but a signal can then refuse the
   *   step to the next run, and the replay it costs is a third as long;
   * - an import page handed to it again (the import's hand-off retried after a worker died) is not
   *   applied a second time: a page it still holds is ignored, a page it already reported is reported
   *   again (before, its rows were applied and counted twice).
   */
  writerQuickNewRun: 'writer-quick-new-run',
  /**
   * 2026-12 (stage: patched). The import (importWorkflow), decided once at a run's first task: a page's
   * report that arrives before the page's hand-off has completed in the import (the writers applied the
   * rows while the hand-off activity, its worker killed, waited for its retry) is kept until the page is
   * in flight, instead of dropped (the import then waited for it forever).
   */
  importEarlyReports: 'import-early-reports',
} as const satisfies Record<string, string>;
