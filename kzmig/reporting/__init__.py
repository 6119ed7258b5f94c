"""Presentation of results: charts as Figures, tables with region names, workbooks, reports."""
