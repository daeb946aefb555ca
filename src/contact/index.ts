// The product's contact rules: pure, deterministic, safe to import from Temporal workflow code.

export type * from './types.ts';
export * from './values.ts';
export * from './rules.ts';
export * from './fold.ts';
