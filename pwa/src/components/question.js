// The props of an in-page question (ConfirmPanel): ConfirmAction takes the same and passes them on.
export const QUESTION_PROPS = {
  name: { type: String, required: true }, // prefix of ids and data-testids
  title: { type: String, required: true },
  error: { type: String, default: "" },
  busy: { type: Boolean, default: false },
  confirmLabel: { type: String, required: true },
  busyLabel: { type: String, required: true },
  cancelLabel: { type: String, required: true },
};

/** The question's props out of a component's props. */
export const questionOf = (props) => Object.fromEntries(Object.keys(QUESTION_PROPS).map((k) => [k, props[k]]));
