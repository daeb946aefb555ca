// LINE's error answers as its APIs give them: the Messaging API's `{"message": ...}` and LINE Login's
// `{"error", "error_description"}`, plus the control routes' own input errors.

/** LINE's error messages (`{"message": ...}`) as its API answers them. */
export const LINE_ERROR_MESSAGES = {
  missingAuthorization: "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'",
  invalidToken: 'Authentication failed. Confirm that the access token in the authorization header is valid.',
  notFound: 'Not found',
  invalidUserId: "The value for the 'userId' parameter is invalid",
  invalidStart: "The value for the 'start' parameter is invalid",
  forbidden: 'Access to this API is not available for your account',
  rateLimited: 'The API rate limit has been exceeded. Try again later.',
  serverError: 'Internal server error',
} as const;

/** The Messaging API's error body for a status (also the default body of injected faults). */
export function lineErrorBody(status: number): { message: string } {
  switch (status) {
    case 400:
      return { message: 'Bad request' };
    case 401:
      return { message: LINE_ERROR_MESSAGES.invalidToken };
    case 403:
      return { message: LINE_ERROR_MESSAGES.forbidden };
    case 404:
      return { message: LINE_ERROR_MESSAGES.notFound };
    case 429:
      return { message: LINE_ERROR_MESSAGES.rateLimited };
    case 500:
      return { message: LINE_ERROR_MESSAGES.serverError };
    case 502:
      return { message: 'Bad gateway' };
    case 503:
      return { message: 'Service unavailable' };
    case 504:
      return { message: 'Gateway timeout' };
    default:
      return { message: status >= 500 ? LINE_ERROR_MESSAGES.serverError : 'Bad request' };
  }
}

/** LINE Login's error body (`/oauth2/...`) for a status. */
export function lineLoginErrorBody(status: number): { error: string; error_description: string } {
  if (status === 429) return { error: 'too_many_requests', error_description: 'Too many requests.' };
  if (status >= 500) return { error: 'server_error', error_description: 'Internal server error.' };
  return { error: 'invalid_request', error_description: 'Invalid request.' };
}

/** A rejected control request (HTTP 400 / 404 on the control routes). */
export class SandboxInputError extends Error {
  constructor(
    message: string,
    readonly statusCode: number = 400,
  ) {
    super(message);
    this.name = 'SandboxInputError';
  }
}
