import { describe, expect, test } from 'vitest'
import { redact, redactUrl } from '../../src/cli/redact.js'

// The CLI masks the password FIELD of what it prints (a URL's userinfo
// password, password query parameters, libpq's password=...), never the
// password's text wherever else it occurs.

describe('redactUrl masks the password field of a URL, and only that', () => {
  test.each([
    // userinfo
    ['postgres://app:hunter2@db:5432/app', 'postgres://app:***@db:5432/app'],
    ['postgres://postgres:127@127.0.0.1:5432/test', 'postgres://postgres:***@127.0.0.1:5432/test'],
    ['amqp://guest:guest@rabbit:5672', 'amqp://guest:***@rabbit:5672'],
    ['postgres://app:app@app/app?application_name=app', 'postgres://app:***@app/app?application_name=app'],
    ['redis://:r3dis@cache:6379/0', 'redis://:***@cache:6379/0'],
    ['postgres://app:p%40ss%2Fw0rd@db/app', 'postgres://app:***@db/app'],
    ['postgres://app:p@ss@db/app', 'postgres://app:***@db/app'],
    ['postgres://app@db/app', 'postgres://app@db/app'],
    ['postgres://app:@db/app', 'postgres://app:@db/app'],
    // password query parameters (node-postgres honours password and sslpassword, ioredis password)
    ['postgres://app@db/app?password=secret', 'postgres://app@db/app?password=***'],
    ['postgres://app@db/app?sslmode=require&sslpassword=k3y&application_name=secret', 'postgres://app@db/app?sslmode=require&sslpassword=***&application_name=secret'],
    ['postgres://app@127.0.0.1/app?PassWord=127', 'postgres://app@127.0.0.1/app?PassWord=***'],
    ['postgres://app@db/app?pass%77ord=x', 'postgres://app@db/app?pass%77ord=***'],
    ['redis://cache:6379/0?password=pw&db=1', 'redis://cache:6379/0?password=***&db=1'],
    ['amqps://rabbit/vhost?heartbeat=10&password=pw#frag', 'amqps://rabbit/vhost?heartbeat=10&password=***#frag'],
    ['postgres://u:one@db/app?password=two', 'postgres://u:***@db/app?password=***'],
    // not valid URLs (an unencoded '#' or '/' in the password): everything up to the last '@' is masked
    ['postgres://app:pa#ss@db/app', 'postgres://app:***@db/app'],
    ['postgres://app:pa/ss@db/app', 'postgres://app:***@db/app'],
    // already masked: unchanged
    ['postgres://app:***@db/app?password=***', 'postgres://app:***@db/app?password=***'],
    // no password at all
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['https://example.com/docs?page=2', 'https://example.com/docs?page=2'],
  ])('%s → %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected)
  })

  test.each([
    // libpq key=value strings
    ['host=db user=app password=secret dbname=app', 'host=db user=app password=*** dbname=app'],
    ["host=db password='se cret' dbname=app", 'host=db password=*** dbname=app'],
    ['host=127.0.0.1 password=127 sslpassword=k', 'host=127.0.0.1 password=*** sslpassword=***'],
    // user:password@host without a scheme
    ['guest:s3cret@rabbit:5672', 'guest:***@rabbit:5672'],
    ['not a url', 'not a url'],
  ])('not a URL: %s → %s', (value, expected) => {
    expect(redactUrl(value)).toBe(expected)
  })
})

describe('redact masks the password fields in any text the CLI prints', () => {
  test('the same text elsewhere is left alone: a password 127 with host 127.0.0.1', () => {
    redactUrl('postgres://postgres:127@127.0.0.1:1/x')
    expect(redact('txbox: cannot connect to the database at postgres://postgres:127@127.0.0.1:1/x: connect ECONNREFUSED 127.0.0.1:1')).toBe(
      'txbox: cannot connect to the database at postgres://postgres:***@127.0.0.1:1/x: connect ECONNREFUSED 127.0.0.1:1',
    )
    expect(redact('connect ECONNREFUSED 127.0.0.1:5432')).toBe('connect ECONNREFUSED 127.0.0.1:5432')
  })

  test('guest:guest@ keeps its user name', () => {
    redactUrl('amqp://guest:guest@rabbit:5672')
    expect(redact('broker=amqp://guest:guest@rabbit:5672 user=guest')).toBe('broker=amqp://guest:***@rabbit:5672 user=guest')
  })

  test('several URLs in one line, in a pretty log line and in a JSON log line', () => {
    expect(redact('relaying broker=redis://:pw@cache:6379 database="postgres://u@db/app?password=x&a=b"')).toBe(
      'relaying broker=redis://:***@cache:6379 database="postgres://u@db/app?password=***&a=b"',
    )
    const json = redact(JSON.stringify({ msg: 'relaying', broker: 'amqp://guest:guest@rabbit:5672', database: 'postgres://u:p@db/app?sslpassword=k' }))
    expect(JSON.parse(json)).toEqual({ msg: 'relaying', broker: 'amqp://guest:***@rabbit:5672', database: 'postgres://u:***@db/app?sslpassword=***' })
  })

  test('punctuation after a URL is kept: a reason after a colon, the end of a sentence', () => {
    expect(redact('at postgres://u@db/app?password=x: connect ECONNREFUSED')).toBe('at postgres://u@db/app?password=***: connect ECONNREFUSED')
    expect(redact('at postgres://u@db/app?password=***: refused')).toBe('at postgres://u@db/app?password=***: refused')
    expect(redact('(see redis://:pw@cache:6379).')).toBe('(see redis://:***@cache:6379).')
  })

  test('a libpq password=... outside a URL', () => {
    expect(redact('txbox: cannot connect to the database at host=db password=s3cret dbname=app: no')).toBe(
      'txbox: cannot connect to the database at host=db password=*** dbname=app: no',
    )
  })

  test('text without password fields is unchanged', () => {
    const text = 'published 3 message(s) topic=orders key=k password_hint 127.0.0.1 https://example.com/a?b=c'
    expect(redact(text)).toBe(text)
  })
})
