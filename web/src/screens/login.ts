// The login screen: email, password, and the one-time code when the account has a second factor.
import { gql } from "../api/client";
import { h } from "../dom";

interface LoginResult {
  ok: boolean;
  message: string;
  totpRequired: boolean;
}

export function renderLogin(root: HTMLElement, onLoggedIn: () => Promise<void>): void {
  document.title = "Log in · cutis";
  const error = h("p", { class: "form-error", id: "login-error", role: "alert" });
  const email = h("input", { id: "email", name: "email", type: "email", autocomplete: "username", required: true });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const totp = h("input", { id: "totp", name: "totp", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}" });
  const totpField = h("div", { class: "field", hidden: true }, h("label", { for: "totp" }, "One-time code"), totp);
  const submit = h("button", { type: "submit", class: "button primary wide" }, "Log in");
  const form = h(
    "form",
    { class: "login-card", "aria-labelledby": "login-title", novalidate: true },
    h("div", { class: "login-brand", "aria-hidden": "true" }, h("span", { class: "brand-mark large" }, "c"), "cutis"),
    h("h1", { id: "login-title" }, "Log in to the rule editor"),
    h("p", { class: "muted" }, "Write, test and save your payers' billing rules."),
    h("div", { class: "field" }, h("label", { for: "email" }, "Email"), email),
    h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password),
    totpField,
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!email.value || !password.value) {
      error.textContent = "Enter your email and password.";
      (email.value ? password : email).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Logging in…";
    try {
      const data = await gql<{ login: LoginResult }>("Login", {
        email: email.value.trim(),
        password: password.value,
        totpCode: totp.value || null,
      });
      if (data.login.ok) {
        await onLoggedIn();
        return;
      }
      if (data.login.totpRequired) {
        totpField.hidden = false;
        totp.focus();
      }
      error.textContent = data.login.message;
    } catch (problem) {
      error.textContent = (problem as Error).message;
    } finally {
      submit.disabled = false;
      submit.textContent = "Log in";
    }
  });
  root.replaceChildren(h("main", { id: "main", class: "login-page" }, form));
  email.focus();
}
