"""The knowledge base: city and province-shared articles, versions, Chinese search."""
