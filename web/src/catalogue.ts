// The component types the app offers: the domain's catalogue, or the one the build was given
// (web/build.ts puts it in place of this module), so a test can offer a type more.
import { CATALOGUE, type Catalogue } from '../../src/domain/components.ts'

export const catalogue: Catalogue = CATALOGUE
