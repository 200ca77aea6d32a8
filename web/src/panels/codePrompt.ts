// Asks for the 6-digit code of the authenticator app, at the moment a step needs a fresh one
// (approving, publishing, rolling back). A modal dialog: Escape or Cancel answers null.
import { h } from "../dom";

export function askForCode(action: string, explanation: string): Promise<string | null> {
  return new Promise((resolve) => {
    const input = h("input", {
      id: "totp-code",
      name: "totp-code",
      inputmode: "numeric",
      autocomplete: "one-time-code",
      pattern: "[0-9]{6}",
      maxlength: 6,
      required: true,
      "aria-describedby": "totp-code-help totp-code-error",
    });
    const error = h("p", { class: "form-error", id: "totp-code-error", role: "alert" });
    const cancel = h("button", { type: "button", class: "button" }, "Cancel");
    const confirm = h("button", { type: "submit", class: "button primary" }, action);
    const form = h(
      "form",
      { method: "dialog" },
      h("h2", { id: "totp-title" }, action),
      h("p", { id: "totp-code-help", class: "muted" }, explanation, " Enter the 6-digit code your authenticator app shows now."),
      h("div", { class: "field" }, h("label", { for: "totp-code" }, "Authenticator code"), input),
      error,
      h("div", { class: "dialog-actions" }, cancel, confirm),
    );
    const dialog = h("dialog", { class: "code-dialog", "aria-labelledby": "totp-title" }, form);
    let answer: string | null = null;
    form.addEventListener("submit", (event) => {
      const code = input.value.replace(/\s+/g, "");
      if (!/^\d{6}$/.test(code)) {
        event.preventDefault();
        error.textContent = "The code is 6 digits.";
        input.focus();
        return;
      }
      answer = code;
    });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}
