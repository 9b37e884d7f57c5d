from dagster import DynamicPartitionsDefinition

DOCUMENTS = "documents"
# One partition per deck; the key is the deck's path relative to the inbox.
documents = DynamicPartitionsDefinition(name=DOCUMENTS)
