// Integration and end-to-end tests talk to real servers: give them minutes, not jest's 5 s.
jest.setTimeout(180_000);
