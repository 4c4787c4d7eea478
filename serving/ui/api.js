// The HTTP API of the capcast service (same origin), its error format, and the planner token.

const TOKEN_KEY = "capcast.plannerToken";

/** An error answered by the service ({"error": {code, message, field}}) or met on the way. */
export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && body.error) {
      const { code, message, field } = body.error;
      return new ApiError(response.status, code, message, field);
    }
  } catch {
    // not JSON: fall through to a message naming the status
  }
  return new ApiError(response.status, "http_error", `the service answered ${response.status} ${response.statusText}`);
}

/** GET (or POST with `body`) a JSON endpoint; throws ApiError. */
export async function api(path, { method = "GET", body = undefined, token = undefined } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, "unreachable", `the service could not be reached (${error.message})`);
  }
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Ask the planner for the token in the token dialog; resolves to the token, or null when cancelled. */
export function askToken(reason = null) {
  const dialog = document.getElementById("token-dialog");
  const input = document.getElementById("token-input");
  const reasonText = document.getElementById("token-reason");
  if (!reasonText.dataset.default) reasonText.dataset.default = reasonText.innerHTML;
  reasonText.innerHTML = reasonText.dataset.default;
  if (reason) reasonText.prepend(Object.assign(document.createElement("strong"), { textContent: `${reason} ` }));
  input.value = "";
  return new Promise((resolve) => {
    const cancel = document.getElementById("token-cancel");
    const forget = document.getElementById("token-forget");
    const finish = (token) => {
      cancel.removeEventListener("click", onCancel);
      forget.removeEventListener("click", onForget);
      dialog.removeEventListener("close", onClose);
      if (dialog.open) dialog.close();
      resolve(token);
    };
    const onCancel = () => finish(null);
    const onForget = () => {
      forgetToken();
      finish(null);
    };
    const onClose = () => {
      const token = dialog.returnValue === "save" ? input.value.trim() : "";
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      finish(token || null);
    };
    cancel.addEventListener("click", onCancel);
    forget.addEventListener("click", onForget);
    dialog.addEventListener("close", onClose);
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
}

/** A write with the planner token: asks for it when none is kept, and again (once) when it is refused.
 * Resolves to the answer, or null when the planner cancels; throws ApiError otherwise. */
export async function withToken(write) {
  let token = storedToken() || (await askToken());
  if (!token) return null;
  try {
    return await write(token);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    forgetToken();
    token = await askToken(`The planner token was refused (${error.message}).`);
    if (!token) throw new ApiError(401, error.code, `the planner token was refused: ${error.message}`);
    try {
      return await write(token);
    } catch (again) {
      if (again instanceof ApiError && again.status === 401) {
        forgetToken();
        throw new ApiError(401, again.code, `the planner token was refused: ${again.message}`);
      }
      throw again;
    }
  }
}
