/**
 * The part of dcmjs 0.50 this library uses (the package ships no type declarations): its data
 * dictionary, its Part 10 writer and its logger. Elements are in the DICOM JSON shape, keyed by tag.
 */
declare module 'dcmjs' {
  export namespace data {
    interface DcmjsElement {
      vr: string;
      Value?: unknown[];
    }
    type DcmjsDataset = Record<string, DcmjsElement>;

    class DicomDict {
      constructor(meta: DcmjsDataset);
      meta: DcmjsDataset;
      dict: DcmjsDataset;
      /** A Part 10 file: preamble, "DICM", the meta group (its length computed) and the dataset, tags sorted. */
      write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
    }

    class DicomMessage {
      /** Reads a Part 10 file (used by tests, as an independent reader of what we write). */
      static readFile(buffer: ArrayBuffer, options?: { ignoreErrors?: boolean }): DicomDict;
    }

    interface DictionaryEntry {
      /** "(gggg,eeee)" */
      tag: string;
      vr: string;
      vm: string;
      /** The keyword. */
      name: string;
    }

    const DicomMetaDictionary: {
      /** Keyword → entry. */
      nameMap: Readonly<Record<string, DictionaryEntry>>;
      /** Tag-keyed elements → keyword-keyed plain values (the shape dcmjs-codecs transcodes). */
      naturalizeDataset(dataset: DcmjsDataset): Record<string, unknown>;
    };
  }

  interface Logger {
    setLevel(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'): void;
  }

  /** loglevel's root logger; dcmjs also logs through named child loggers (e.g. "validation.dcmjs"). */
  export const log: Logger & {
    getLoggers(): Record<string, Logger>;
  };
}
