from dagster import AssetSelection, define_asset_job

from osmose_dagster.defs.partitions import documents

# The five assets of one document, in one run: the model is loaded once for the GPU steps.
ingest_documents = define_asset_job(
    "ingest_documents",
    selection=AssetSelection.groups("ingest"),
    partitions_def=documents,
    description="Extract, segment, embed and index one document partition.",
)
