"""Step 2: the content audit - which assets serve which persona and buying stage.

One module per part of the audit:

- :mod:`~salign.content.personas`: which persona set is used and which persona each lead is;
- :mod:`~salign.content.journey`: a lead's buying stage (awareness, consideration, decision) over time;
- :mod:`~salign.content.inventory`: every asset, its classification, age and location; stale and unclassified;
- :mod:`~salign.content.touches` and :mod:`~salign.content.usage`: use by team, quarter, persona and stage;
  unused assets and "lost" assets only one team uses;
- :mod:`~salign.content.influence`: conversion of leads who used an asset vs comparable leads (association);
- :mod:`~salign.content.gaps`: the persona x stage matrix, its ranked gaps, ``content_gaps.csv``;
- :mod:`~salign.content.plan`: the messaging plan.
"""
from salign.content.gaps import GAPS_FILE, ContentMatrix, content_matrix, write_gaps
from salign.content.influence import Influence, influence
from salign.content.inventory import Inventory, inventory
from salign.content.journey import BUYING_STAGES
from salign.content.personas import PersonaChoice, choose_personas
from salign.content.plan import MessagingPlan, messaging_plan
from salign.content.usage import Usage, usage

__all__ = ["BUYING_STAGES", "GAPS_FILE", "ContentMatrix", "Influence", "Inventory", "MessagingPlan", "PersonaChoice",
           "Usage", "choose_personas", "content_matrix", "influence", "inventory", "messaging_plan", "usage",
           "write_gaps"]
