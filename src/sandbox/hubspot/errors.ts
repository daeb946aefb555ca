// HubSpot-shaped error bodies: `{status:"error", message, correlationId, category, ...}`.
import { randomUUID } from 'node:crypto';

export interface HubspotErrorBody {
  status: 'error';
  message: string;
  correlationId: string;
  category?: string;
  [key: string]: unknown;
}

/** Thrown inside the sandbox; the error handler answers it with `statusCode` and `body`. */
export class HubspotApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: HubspotErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
    this.name = 'HubspotApiError';
  }
}

export function errorBody(category: string, message: string, extra: Record<string, unknown> = {}): HubspotErrorBody {
  return { status: 'error', message, correlationId: randomUUID(), category, ...extra };
}

export const validationError = (message: string, extra?: Record<string, unknown>) => new HubspotApiError(400, errorBody('VALIDATION_ERROR', message, extra));

export const notFoundError = (message: string, extra?: Record<string, unknown>) => new HubspotApiError(404, errorBody('OBJECT_NOT_FOUND', message, extra));

export const AUTH_MESSAGE =
  'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview';

export type RateLimitPolicy = 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY';

const RATE_LIMIT_MESSAGES: Record<RateLimitPolicy, string> = {
  TEN_SECONDLY_ROLLING: 'You have reached your ten_secondly_rolling limit.',
  DAILY: 'You have reached your daily limit.',
  SECONDLY: 'You have reached your secondly limit.',
};

/** HubSpot's 429 body (no `category`; `errorType` instead). */
export function rateLimitBody(policy: RateLimitPolicy): HubspotErrorBody {
  return {
    status: 'error',
    message: RATE_LIMIT_MESSAGES[policy],
    errorType: 'RATE_LIMIT',
    correlationId: randomUUID(),
    policyName: policy,
    groupName: policy === 'SECONDLY' ? 'publicapi:crm-search' : 'api-product:sandbox-private-app',
  };
}

/** One entry of HubSpot's "Property values were not valid" list. */
export interface PropertyValidationResult {
  isValid: false;
  message: string;
  error: string;
  name: string;
  localizedErrorMessage: string;
  portalId: number;
}

export function propertyValuesError(results: PropertyValidationResult[]): HubspotApiError {
  return validationError(`Property values were not valid: ${JSON.stringify(results)}`, {
    errors: results.map((r) => ({ message: r.message, code: r.error, context: { propertyName: [r.name] } })),
  });
}

/** Body for an injected fault when the rule gives none. */
export function defaultFaultBody(status: number): HubspotErrorBody {
  switch (status) {
    case 400:
      return errorBody('VALIDATION_ERROR', 'There was a problem with the request.');
    case 401:
      return errorBody('INVALID_AUTHENTICATION', AUTH_MESSAGE);
    case 403:
      return errorBody('MISSING_SCOPES', "This app hasn't been granted all required scopes to make this call.");
    case 404:
      return errorBody('OBJECT_NOT_FOUND', 'resource not found');
    case 409:
      return errorBody('CONFLICT', 'Conflict');
    case 423:
      return errorBody('LOCKED', 'The resource is locked; wait at least 2 seconds before retrying.');
    case 429:
      return rateLimitBody('TEN_SECONDLY_ROLLING');
    case 502:
    case 503:
    case 504:
      return errorBody('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable.');
    default:
      return errorBody(status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_ERROR', status >= 500 ? 'internal error' : 'error');
  }
}
