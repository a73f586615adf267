import { CallingAeAllowList, parseAllowedCallers } from './calling-ae-allow-list';

describe('parseAllowedCallers', () => {
  it('reads titles, each from any host or bound to addresses and ranges', () => {
    expect(parseAllowedCallers(' CT1@10.0.0.5, CT2 ,PACS@10.0.0.0/8,PACS@fd00::/8,CT1@10.0.0.6,,')).toEqual([
      { aeTitle: 'CT1', hosts: ['10.0.0.5', '10.0.0.6'] },
      { aeTitle: 'CT2', hosts: [] },
      { aeTitle: 'PACS', hosts: ['10.0.0.0/8', 'fd00::/8'] },
    ]);
  });

  it('lets a title listed once without a host call from anywhere', () => {
    expect(parseAllowedCallers('CT1@10.0.0.5,CT1')).toEqual([{ aeTitle: 'CT1', hosts: [] }]);
  });

  it.each([
    { situation: 'a host name', text: 'CT1@ct1.hospital.example', message: /address or a CIDR range/ },
    { situation: 'a prefix too long for IPv4', text: 'CT1@10.0.0.0/33', message: /CT1@10.0.0.0\/33/ },
    { situation: 'a prefix that is not a number', text: 'CT1@10.0.0.0/x', message: /CIDR/ },
    { situation: 'an empty host', text: 'CT1@', message: /CIDR/ },
    { situation: 'a title longer than 16 characters', text: 'A_VERY_LONG_AE_TITLE', message: /1 to 16/ },
    { situation: 'a title with a backslash', text: 'A\\B@10.0.0.1', message: /backslash/ },
    { situation: 'an empty title', text: '@10.0.0.1', message: /1 to 16/ },
  ])('refuses $situation, naming the entry', ({ text, message }) => {
    expect(() => parseAllowedCallers(text)).toThrow(message);
  });
});

describe('CallingAeAllowList', () => {
  const list = new CallingAeAllowList(parseAllowedCallers('CT1@10.0.0.5,CT2,PACS@10.1.0.0/16,V6@fd00::/8'));

  it.each([
    { caller: 'CT1', from: '10.0.0.5', permitted: true },
    { caller: 'CT1', from: '::ffff:10.0.0.5', permitted: true },
    { caller: 'CT1', from: '10.0.0.6', permitted: false },
    { caller: 'CT2', from: '192.168.1.1', permitted: true },
    { caller: 'CT2', from: '::1', permitted: true },
    { caller: 'PACS', from: '10.1.200.3', permitted: true },
    { caller: 'PACS', from: '10.2.0.1', permitted: false },
    { caller: 'V6', from: 'fd00::1234', permitted: true },
    { caller: 'V6', from: 'fe80::1', permitted: false },
    { caller: 'ct2', from: '10.0.0.5', permitted: false },
    { caller: 'SOMEONE', from: '10.0.0.5', permitted: false },
    { caller: 'CT1', from: undefined, permitted: false },
  ])('$caller from $from: permitted $permitted', ({ caller, from, permitted }) => {
    expect(list.permits(caller, from)).toBe(permitted);
  });
});
