// The patch IDs of workflow changes (README "Versioning and upgrades"): a change to the commands a
// workflow issues (activities, timers, child workflows, signals, continue-as-new, their order) ships
// behind `patched(PATCH.x)` with the old path kept, so that runs started by the previous release
// replay; a release later `deprecatePatch(PATCH.x)` replaces it, and the release after removes it.
// Each entry says when it went in and its stage. None is in flight today.
export const PATCH = {} as const satisfies Record<string, string>;
