export const ROOT: string;
export const DIST: string;
export const BUILD_INFO: string;
export const WORKFLOW_BUNDLE: string;
export function sourceHash(): string;
export function staleReason(): string | undefined;
