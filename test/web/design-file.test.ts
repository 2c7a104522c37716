import t from 'tap'
import { nameFromFile, readDesignFile } from '../../web/src/design-file.ts'

// A design file as the workspaces screen reads it: JSON with a list of components and of links (a
// whole workspace's file too); anything else refused in a plain sentence before the api is asked.

t.test('a design file is read; anything else is refused in plain words', async (t) => {
  const design = { components: [{ id: 'users', type: 'client' }], links: [] }
  t.same(readDesignFile(JSON.stringify(design)), { design })
  t.same(readDesignFile(JSON.stringify({ name: 'ws', design })), { design }, 'a workspace carries its design')
  t.same(readDesignFile('{ nope'), { error: 'That file is not a design: it is not JSON.' })
  for (const text of ['[1, 2]', 'null', '{"components": []}', '{"components": {}, "links": []}'])
    t.match(readDesignFile(text), { error: /needs a list of components and a list of links/ }, text)
  t.equal(nameFromFile('shop.design.json'), 'shop')
  t.equal(nameFromFile('.json'), 'Imported design')
})
