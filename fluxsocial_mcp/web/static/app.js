// Progressive enhancement only: every page works without this file.
// The copy button appears only when script runs; without it the key is still a
// selectable, read-only field.
"use strict";

function copyWithSelection(field) {
  // Clipboard API needs a secure context (https or loopback); selecting the text
  // and using the legacy copy command covers plain-http intranet hosts.
  field.focus();
  field.select();
  return document.execCommand("copy");
}

document.querySelectorAll("[data-copy]").forEach((button) => {
  const field = document.getElementById(button.dataset.copy);
  const status = document.getElementById(button.dataset.copyStatus || "");
  if (!field) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    let copied = false;
    try {
      await navigator.clipboard.writeText(field.value);
      copied = true;
    } catch {
      copied = copyWithSelection(field);
    }
    if (status) {
      status.textContent = copied
        ? "Copied to the clipboard."
        : "Could not copy automatically: the key is selected, press Ctrl+C (⌘C on a Mac).";
    }
  });
});

// One click selects the whole key, so a manual copy never misses a character.
document.querySelectorAll("[data-select-on-focus]").forEach((field) => {
  field.addEventListener("focus", () => field.select());
  field.addEventListener("click", () => field.select());
});
