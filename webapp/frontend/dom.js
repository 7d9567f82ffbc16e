// Building page elements from text the server or the diagram gave: always as textContent, never as
// HTML, so a handler's docstring or an element's name cannot inject markup.

/** A new `tag` element with the class (when given) and the text (when given). */
export function textElement(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}
