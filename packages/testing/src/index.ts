export { serviceUrls, localServiceUrls, dockerIsReachable, type ServiceUrls } from './services.js'
export { useTestDatabase, uniqueName, type TestDatabase } from './test-database.js'
export { waitFor, waitForValue } from './wait-for.js'
