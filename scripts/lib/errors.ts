/** An expected failure: printed as one clear line (plus a hint), never a stack. */
export class LabError extends Error {
  override readonly name = "LabError";
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** The user asked for something the command line does not allow. */
export class UsageError extends LabError {
  constructor(message: string) {
    super(message, 2, "see `lab help`");
  }
}
