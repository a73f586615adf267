/**
 * The part of dcmjs 0.50 this service uses (the package ships no type declarations). Elements are
 * in the DICOM JSON shape, keyed by tag: values are already decoded (text per Specific Character
 * Set, numbers for IS/DS, `{Alphabetic, Ideographic, Phonetic}` for PN, item datasets for SQ).
 */
declare module 'dcmjs' {
  export namespace data {
    interface DcmjsElement {
      vr: string;
      Value?: unknown[];
    }
    type DcmjsDataset = Record<string, DcmjsElement>;

    class ReadBufferStream {
      constructor(buffer: ArrayBuffer, littleEndian?: boolean);
    }

    interface ReadOptions {
      ignoreErrors?: boolean;
      untilTag?: string | null;
      includeUntilTagValue?: boolean;
    }

    class DicomDict {
      constructor(meta: DcmjsDataset);
      meta: DcmjsDataset;
      dict: DcmjsDataset;
      /** A Part 10 file: preamble, "DICM", the meta group (its length computed) and the dataset, tags sorted. */
      write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
    }

    class DicomMessage {
      /** Reads a bare dataset (no preamble, no file meta) in the given transfer syntax. */
      static _read(stream: ReadBufferStream, syntax: string, options?: ReadOptions): DcmjsDataset;
      /** Reads a Part 10 file. */
      static readFile(buffer: ArrayBuffer, options?: ReadOptions): DicomDict;
    }
  }

  interface Logger {
    setLevel(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'): void;
  }

  /** loglevel's root logger; dcmjs also logs through named child loggers (e.g. "validation.dcmjs"). */
  export const log: Logger & {
    getLoggers(): Record<string, Logger>;
  };
}
