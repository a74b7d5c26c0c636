"""Course exports (PDF, PPTX, SCORM 1.2, SCORM 2004, IMS Common Cartridge) and Common Cartridge import.

Pure functions over `document.CourseDocument`: no database, no network. The content worker builds the
document from the graph, calls `render`, and stores the bytes as a content item."""
