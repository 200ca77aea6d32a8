// A small GraphQL client over fetch: the session cookie travels by itself, and every
// request carries the CSRF token read from the `cutis_csrf` cookie.
import { operations, type OperationName } from "./operations";

export class ApiError extends Error {}

/** The session ended or never began: the caller shows the login screen. */
export class NotLoggedIn extends ApiError {}

function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)cutis_csrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : "";
}

const CLINIC_KEY = "cutis-clinic";

/** The clinic a person with several (or onboarding staff, who always name one) works in: sent as the
 * X-Cutis-Tenant header, kept for the browser tab. Null forgets it. */
export function chooseClinic(tenantId: string | null): void {
  if (tenantId) sessionStorage.setItem(CLINIC_KEY, tenantId);
  else sessionStorage.removeItem(CLINIC_KEY);
}

export function chosenClinic(): string | null {
  return sessionStorage.getItem(CLINIC_KEY);
}

type Listener = (name: OperationName) => void;
const requestListeners: Listener[] = [];

/** Observe requests as they leave (the benchmark and the busy indicator use it). */
export function onRequest(listener: Listener): void {
  requestListeners.push(listener);
}

export async function gql<T>(
  name: OperationName,
  variables: Record<string, unknown> = {},
  signal?: AbortSignal,
): Promise<T> {
  for (const listener of requestListeners) listener(name);
  let response: Response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRF-Token": csrfToken(),
        ...(chosenClinic() ? { "X-Cutis-Tenant": chosenClinic() as string } : {}),
      },
      body: JSON.stringify({ query: operations[name], operationName: name, variables }),
      signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError("The server cannot be reached. Check your connection and try again.");
  }
  if (response.status === 401 || response.status === 403) throw new NotLoggedIn("Please log in again.");
  if (response.status === 429) throw new ApiError("Too many requests: wait a minute and try again.");
  let payload: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    payload = await response.json();
  } catch {
    throw new ApiError(`The server answered ${response.status} without a readable body.`);
  }
  if (payload.errors?.length) {
    const messages = payload.errors.map((e) => e.message);
    if (messages.some((m) => /not (logged in|authenticated)|log in|login required|session/i.test(m))) {
      throw new NotLoggedIn(messages.join("; "));
    }
    throw new ApiError(messages.join("; "));
  }
  if (!payload.data) throw new ApiError("The server returned no data.");
  return payload.data;
}
