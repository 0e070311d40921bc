// Rubric and preference keys for the Rate and My history pages (see views/widgets/keys.py).
// Installed once per tab. Reads only the page's own widget keys (st-key-* classes) and the
// key hints at the end of option labels, "(7)" or "(Shift+A)", or a label that is a digit.
(() => {
  if (window.__judgeboardKeys) return;
  window.__judgeboardKeys = true;

  const TEXT = new Set(["INPUT", "TEXTAREA", "SELECT"]);
  const CELL = /^st-key-(.+)-score-([AB])-(\d+)$/;
  const PREFERENCE = /^st-key-(.+)-preference$/;
  const HINT = /\(((?:Shift\+)?[A-Z0-9])\)\s*$/;
  let marked = null; // the st-key class of the marked rubric cell
  // Choices made by key, per st-key class: a key pressed while the page is being redrawn
  // can be lost, so each is clicked again (a few times at most) until the page shows it.
  const wanted = new Map();

  const keyClass = (el, pattern) =>
    [...el.classList].find((name) => pattern.test(name)) || null;

  // Rubric cells in answering order: criterion by criterion, A then B.
  function cells() {
    const seen = { A: 0, B: 0 };
    const found = [];
    for (const el of document.querySelectorAll("[class*='-score-']")) {
      const name = keyClass(el, CELL);
      if (!name) continue;
      const side = CELL.exec(name)[2];
      found.push({ name, el, side, row: seen[side]++ });
    }
    return found.sort((x, y) => x.row - y.row || x.side.localeCompare(y.side));
  }

  function style() {
    let el = document.getElementById("judgeboard-key-mark");
    if (!el) {
      el = document.createElement("style");
      el.id = "judgeboard-key-mark";
      document.head.appendChild(el);
    }
    return el;
  }

  function mark(all) {
    if (!all.some((c) => c.name === marked)) marked = all.length ? all[0].name : null;
    const css = marked
      ? `.${marked} { outline: 3px solid #ff4b4b; outline-offset: 4px; border-radius: 6px; }` +
        `.${marked} [data-testid='stWidgetLabel']::before { content: "▶ "; color: #ff4b4b; }`
      : "";
    const el = style();
    if (el.textContent !== css) el.textContent = css;
    if ((document.body.dataset.judgeboardMarked || null) !== marked) {
      if (marked) document.body.dataset.judgeboardMarked = marked;
      else delete document.body.dataset.judgeboardMarked;
    }
  }

  function hintOf(button) {
    const text = (button.innerText || "").trim();
    if (/^\d$/.test(text)) return text;
    const found = HINT.exec(text);
    return found ? found[1] : null;
  }

  function press(container, key) {
    for (const button of container.querySelectorAll("button")) {
      if (hintOf(button) !== key) continue;
      if (!button.hasAttribute("data-selected")) button.click();
      return true;
    }
    return false;
  }

  function choose(container, name, key) {
    if (!press(container, key)) return false;
    wanted.set(name, { key, tries: 0 });
    return true;
  }

  function settle() {
    if (!wanted.size || !document.querySelector("[data-test-script-state='notRunning']")) return;
    for (const [name, want] of wanted) {
      const container = document.querySelector(`.${name}`);
      const button =
        container && [...container.querySelectorAll("button")].find((b) => hintOf(b) === want.key);
      if (!button || button.hasAttribute("data-selected") || want.tries >= 3) {
        wanted.delete(name);
      } else {
        want.tries += 1;
        button.click();
      }
    }
  }

  function move(all, by) {
    const at = all.findIndex((c) => c.name === marked);
    const next = all[Math.min(Math.max(at + by, 0), all.length - 1)];
    if (next) marked = next.name;
  }

  function typing(target) {
    return target && (TEXT.has(target.tagName) || target.isContentEditable);
  }

  // After a choice in a drop-down list the keys go back to rating: the list's text box
  // would otherwise keep the focus (or get it back when the list closes) and swallow them.
  let leaveUntil = 0;
  const isList = (el) => el && el.getAttribute && el.getAttribute("role") === "combobox";
  const blurList = () => {
    if (isList(document.activeElement)) document.activeElement.blur();
  };
  const leaveListSoon = () => {
    leaveUntil = performance.now() + 1000;
    setTimeout(blurList, 0);
  };
  document.addEventListener("pointerdown", () => (leaveUntil = 0), true);
  document.addEventListener(
    "focusin",
    (event) => {
      if (performance.now() < leaveUntil && isList(event.target)) setTimeout(blurList, 0);
    },
    true,
  );

  document.addEventListener(
    "keydown",
    (event) => {
      const target = event.target;
      if (typing(target)) {
        const list = isList(target);
        if (list && event.key === "Enter" && target.getAttribute("aria-expanded") === "true") {
          leaveListSoon();
        }
        // Esc, or Ctrl+Enter (which also submits, through the button's own shortcut),
        // leaves the text box so that the plain keys work again.
        const leave =
          event.key === "Escape" || (event.key === "Enter" && (event.ctrlKey || event.metaKey));
        if (leave) setTimeout(() => target.blur(), 0);
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const all = cells();
      mark(all);
      let handled = false;
      if (/^\d$/.test(event.key) && marked) {
        const cell = all.find((c) => c.name === marked);
        if (choose(cell.el, cell.name, event.key)) {
          move(all, 1);
          handled = true;
        }
      } else if (all.length && event.key.startsWith("Arrow")) {
        const sides = all.some((c) => c.side === "B") ? 2 : 1;
        const steps = { ArrowUp: -sides, ArrowDown: sides, ArrowLeft: -1, ArrowRight: 1 };
        move(all, steps[event.key]);
        handled = true;
      } else if (/^[a-z]$/i.test(event.key)) {
        const letter = event.key.toUpperCase();
        const key = event.shiftKey ? `Shift+${letter}` : letter;
        for (const el of document.querySelectorAll("[class*='-preference']")) {
          const name = keyClass(el, PREFERENCE);
          if (name && choose(el, name, key)) handled = true;
        }
      }
      if (handled) {
        event.preventDefault();
        event.stopPropagation();
        mark(all);
        const cell = all.find((c) => c.name === marked);
        if (cell) cell.el.scrollIntoView({ block: "nearest" });
      }
    },
    true,
  );

  document.addEventListener(
    "click",
    (event) => {
      if (event.target.closest && event.target.closest("[role='option']")) leaveListSoon();
      const cell = event.target.closest && event.target.closest("[class*='-score-']");
      const name = cell && keyClass(cell, CELL);
      const control = event.target.closest && event.target.closest("[class*='-preference']");
      if (event.isTrusted && control) wanted.delete(keyClass(control, PREFERENCE));
      if (event.isTrusted && name) {
        wanted.delete(name);
        marked = name;
        mark(cells());
      }
    },
    true,
  );

  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      mark(cells());
      settle();
    });
  }).observe(document.body, {
    childList: true,
    subtree: true,
    attributeFilter: ["data-selected", "data-test-script-state"],
  });
})();
