// Small DOM helpers shared by both pages.

export const $ = <T extends HTMLElement = HTMLElement>(selector: string): T => {
  const element = document.querySelector<T>(selector);
  if (!element) throw new Error(`missing element ${selector}`);
  return element;
};

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { dataset?: Record<string, string> } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  const { dataset, ...rest } = props;
  Object.assign(element, rest);
  if (dataset) Object.assign(element.dataset, dataset);
  element.append(...children);
  return element;
}

export function time(at?: string | Date): string {
  if (!at) return "–";
  const date = typeof at === "string" ? new Date(at) : at;
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** Adds an entry to a timeline list, newest first, keeping the last 200. */
export function addToTimeline(list: HTMLElement, text: string, kind = "info"): void {
  const item = el("li", { className: `timeline-${kind}` }, el("time", {}, time(new Date())), " ", text);
  list.prepend(item);
  while (list.children.length > 200) list.lastElementChild?.remove();
}

export function setStatus(element: HTMLElement, text: string, state: string): void {
  element.textContent = text;
  element.dataset.state = state;
}
