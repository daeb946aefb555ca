// Reading activity failures in workflow code: by the failure-type constants of src/contracts.ts.
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/** The root cause's message: the vendor's words rather than "Activity task failed". */
export function reasonOf(error: unknown): string {
  let current = error as Error | undefined;
  while (current instanceof ActivityFailure && current.cause) current = current.cause;
  return current?.message ?? String(error);
}

/** The failure type an activity failed with (FailureType in src/contracts.ts), if it is an application failure. */
export function failureTypeOf(error: unknown): string | undefined {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? (error.cause.type ?? undefined) : undefined;
}
