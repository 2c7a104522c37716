export { SAMPLE_DESIGN } from '../../src/domain/samples.ts'
